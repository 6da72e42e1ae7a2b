# CIFAR-10 as CRMN uses it (Moniz & Pal, Sec. 4): pixels scaled to [0, 1] minus the
# training set's mean pixel (no division by a deviation: std = 255), padding by 4 and a
# random 32x32 crop, no flips; batch 100. Training on the first 45k training images,
# validation on the other 5k (the paper's 10% held out for its schedule), the test split
# for the reported accuracy.
_base_ = ['../../_base_/datasets/cifar10_trainval.py']

data_preprocessor = dict(
    mean=[125.307, 122.961, 113.8575], std=[255.0, 255.0, 255.0])
train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=100, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=100)
test_dataloader = dict(batch_size=100)
