# Faster R-CNN with CRMN's ResNet-50 body on COCO, upstream 1x recipe. CRMN's memory
# never writes back into the network (the paper's design), so in detection it could
# not change any feature: h_readout=False builds none and the backbone returns the
# body's stage outputs (see configs/crmn/README.md). pool='adaptive' is the mode that
# takes any image size, should the memory be read out by a custom head.
# Without memory the weights are a plain ResNet-50's: an mmpretrain ResNet-50 ImageNet
# checkpoint (resnet50_8xb32_in1k) initialises the backbone.
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py']
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='CRMN',
        depth=50,
        pool='adaptive',
        h_readout=False,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/resnet50_8xb32_in1k.pth',
            prefix='backbone.')))
