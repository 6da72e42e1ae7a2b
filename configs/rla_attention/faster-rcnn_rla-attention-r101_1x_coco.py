# Faster R-CNN with a recurrent-layer-attention ResNet-101 (M = 512, r = 16) on COCO;
# see the ResNet-50 config. Starts from a checkpoint of
# rla-attention-resnet101_8xb32_in1k.py.
_base_ = ['./faster-rcnn_rla-attention-r50_1x_coco.py']
model = dict(
    backbone=dict(
        depth=101,
        reduction=16,
        init_cfg=dict(
            checkpoint='checkpoints/rla-attention-resnet101_in1k.pth')))
