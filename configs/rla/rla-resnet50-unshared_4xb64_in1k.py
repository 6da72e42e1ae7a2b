# RLA-Net ablation (paper Table 6) on RLA-ResNet-50, everything else as the main model:
# (b) unshared: every block has its own update 1x1 and recurrent 3x3; as in the
# official ablation code the update reads the residual branch.
# (g) wiring v3 is the main model itself: configs/rla/rla-resnet50_4xb64_in1k.py.
_base_ = './rla-resnet50_4xb64_in1k.py'

model = dict(backbone=dict(shared=False, update_source='branch'))
