# ECA+RLA: ECA on every residual branch with the official kernel sizes per stage.
_base_ = './retinanet_rla-r50_1x_coco.py'

model = dict(
    backbone=dict(
        attention=dict(type='ECA', kernel_size=[5, 5, 5, 7]),
        init_cfg=dict(checkpoint='checkpoints/eca-rla-resnet50_in1k.pth')))
