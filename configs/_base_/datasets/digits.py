# scikit-learn's handwritten digits (10 classes, 8x8) as image folders, made offline by
# tools/dataset_converters/digits2folder.py; upscaled to 32x32 for ImageNet-style stems.
dataset_type = 'CustomDataset'
data_root = 'data/digits'
data_preprocessor = dict(
    num_classes=10,
    mean=[120.0, 120.0, 120.0],
    std=[100.0, 100.0, 100.0],
    to_rgb=False)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(32, 32)),
    dict(type='PackInputs'),
]
test_pipeline = train_pipeline

# 1437 + 360 images of 8x8: loading in the main process (num_workers=0) costs less
# than starting workers. persistent_workers=False is explicit because mmpretrain's
# own tools/train.py defaults every dataloader to persistent_workers=True, which torch
# refuses without workers ("persistent_workers option needs num_workers > 0").
train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix='train',
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix='val',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
