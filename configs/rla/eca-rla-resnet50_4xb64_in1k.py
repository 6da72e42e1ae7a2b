# ECA+RLA: ECA on every residual branch with the official kernel sizes per stage.
_base_ = './rla-resnet50_4xb64_in1k.py'

model = dict(
    backbone=dict(attention=dict(type='ECA', kernel_size=[5, 5, 5, 7])))
