_base_ = './retinanet_rla-r50_1x_coco.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(checkpoint='checkpoints/rla-resnet101_in1k.pth')))
