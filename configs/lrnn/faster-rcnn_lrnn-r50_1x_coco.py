# Faster R-CNN with a ResNet-50 whose last two stages end with L-RNN modules
# (LRNNResNet), on COCO with the upstream mmdet 1x recipe. The L-RNNs are inserted into
# the pre-trained network as in the Layer-RNN paper's Section 4: the last block of
# stages 3 and 4 keeps its weights (U and b) and gains a bidirectional horizontal and
# a bidirectional vertical recurrence on its output, with V = 0, so at the start of
# fine-tuning the backbone computes exactly ResNet-50's features. Every ResNet
# state-dict name is unchanged: an mmpretrain ResNet-50 ImageNet checkpoint
# (resnet50_8xb32_in1k, saved as checkpoints/resnet50_8xb32_in1k.pth) initialises it;
# the recurrences (lrnn3.*, lrnn4.*) are reported as missing keys and stay zero.
# lrnn_position='mid' puts them after the 3x3 conv instead (256/512 channels:
# 1.3M parameters instead of 21.0M).
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py']
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='LRNNResNet',
        depth=50,
        lrnn_stages=(False, False, True, True),
        lrnn_position='output',
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/resnet50_8xb32_in1k.pth',
            prefix='backbone.')))
