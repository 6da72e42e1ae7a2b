# RLA-Net ablation (paper Table 6) on RLA-ResNet-50, everything else as the main model:
# (e) post-activated hidden unit: h <- tanh(BN(conv3x3(h + conv1x1(y)))).
# (g) wiring v3 is the main model itself: configs/rla/rla-resnet50_4xb64_in1k.py.
_base_ = './rla-resnet50_4xb64_in1k.py'

model = dict(backbone=dict(update_order='post'))
