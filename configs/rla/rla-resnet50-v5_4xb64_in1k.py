# RLA-Net ablation (paper Table 6) on RLA-ResNet-50, everything else as the main model:
# (i) wiring v5: h <- conv3x3(tanh(BN(h + conv1x1(identity)))), identity the shortcut.
# (g) wiring v3 is the main model itself: configs/rla/rla-resnet50_4xb64_in1k.py.
_base_ = './rla-resnet50_4xb64_in1k.py'

model = dict(backbone=dict(update_source='identity'))
