# RLA-Net ablation (paper Table 6) on RLA-ResNet-50, everything else as the main model:
# (d) ConvLSTM cell: state (h, c), gates from one 3x3 conv of concat(u, h).
# (g) wiring v3 is the main model itself: configs/rla/rla-resnet50_4xb64_in1k.py.
_base_ = './rla-resnet50_4xb64_in1k.py'

model = dict(backbone=dict(cell='lstm'))
