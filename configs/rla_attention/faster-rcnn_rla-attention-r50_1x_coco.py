# Faster R-CNN with a recurrent-layer-attention ResNet-50 (M = 512, r = 16) on COCO,
# upstream 1x recipe. The paper reports Faster R-CNN on COCO 2014 (RLA-50 27.8
# mAP@[.5,.95] vs ResNet-50 27.7); this config uses mmdet's COCO 2017 set-up.
# The backbone starts from an ImageNet checkpoint of
# configs/rla_attention/rla-attention-resnet50_8xb32_in1k.py (no official weights
# exist).
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py']
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='LayerAttentionResNet',
        depth=50,
        lstm_channels=512,
        reduction=16,  # as the ImageNet config it starts from
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/rla-attention-resnet50_in1k.pth',
            prefix='backbone.')))
