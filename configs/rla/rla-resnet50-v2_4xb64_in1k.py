# RLA-Net ablation (paper Table 6) on RLA-ResNet-50, everything else as the main model:
# (f) wiring v2: h <- conv3x3(tanh(BN(h))) + conv1x1(y), y the block output.
# (h) v4 reads the block output x, the same tensor: use this config for v4 too.
# (g) wiring v3 is the main model itself: configs/rla/rla-resnet50_4xb64_in1k.py.
_base_ = './rla-resnet50_4xb64_in1k.py'

model = dict(backbone=dict(update_order='add-last'))
