# The main job's detector on the plain ResNet-18 body: the baseline of the deepforest
# comparison (docs/study/deepforest.md). Everything but the backbone's type is the
# main job's (configs/rla/faster-rcnn_rla-r18_100e_deepforest.py): recipe, budget,
# initialisation (zero_init_residual=True, as the main job), data.
_base_ = ['../rla/faster-rcnn_rla-r18_100e_deepforest.py']
model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNetBody',
        depth=18,
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        zero_init_residual=True,
        init_cfg=None))
