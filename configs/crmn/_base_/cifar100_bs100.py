# CIFAR-100 as CRMN uses it: see cifar10_bs100.py (the mean pixel is CIFAR-100's).
_base_ = ['../../_base_/datasets/cifar100_trainval.py']

data_preprocessor = dict(
    mean=[129.304, 124.070, 112.434], std=[255.0, 255.0, 255.0])
train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=100, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=100)
test_dataloader = dict(batch_size=100)
