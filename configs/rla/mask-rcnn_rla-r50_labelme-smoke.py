# Smoke run of the mask path: Mask R-CNN with RLA-ResNet-50 on labelme 5.10.1's COCO
# instance-segmentation example (3 VOC photos, 12 polygon masks; made by
# tools/fetch_data.sh), a few iterations from scratch, bbox + segm CocoMetric.
# Train, val and test are the same 3 images: this proves the pipeline, not accuracy.
_base_ = './mask-rcnn_rla-r50_1x_coco.py'

data_root = 'data/labelme_coco/'
metainfo = dict(classes=('bottle', 'bus', 'car', 'chair', 'person', 'sofa'))

model = dict(
    backbone=dict(
        init_cfg=None,
        frozen_stages=-1,
        norm_eval=False,
        zero_init_residual=False),
    roi_head=dict(
        bbox_head=dict(num_classes=6), mask_head=dict(num_classes=6)),
    # a few iterations from scratch score below the usual 0.05 threshold; keep every
    # box so that CocoMetric evaluates boxes and masks instead of an empty result
    test_cfg=dict(rcnn=dict(score_thr=0.0)))

pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=(500, 375), keep_ratio=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
dataset = dict(
    data_root=data_root,
    metainfo=metainfo,
    ann_file='annotations.json',
    data_prefix=dict(img=''),
    pipeline=pipeline)
train_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False, dataset=dataset)
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(dataset, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(
    ann_file=data_root + 'annotations.json', metric=['bbox', 'segm'])
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=2, val_interval=2)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=3)
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1),
    checkpoint=dict(type='CheckpointHook', interval=2))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
