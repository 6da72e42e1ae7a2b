# CIFAR-10 with He et al.'s model-selection split: 45k train / 5k held-out val from
# the training set, the 10k test split for the reported accuracy, batch 128, 4-pixel
# padded random crops and horizontal flips. Put the python version of CIFAR-10 in
# data/cifar10/cifar-10-batches-py (extract cifar-10-python.tar.gz into data/cifar10);
# nothing is downloaded at run time.
dataset_type = 'CIFAR10TrainVal'
data_root = 'data/cifar10/'
num_classes = 10
data_preprocessor = dict(
    num_classes=num_classes,
    mean=[125.307, 122.961, 113.8575],
    std=[51.5865, 50.847, 51.255],
    to_rgb=False)  # loaded images are RGB already

train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=128,
    num_workers=2,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        subset='train',
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=2,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        subset='val',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = dict(
    batch_size=128,
    num_workers=2,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        subset='test',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
test_evaluator = val_evaluator
