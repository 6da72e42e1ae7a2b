# The RA-LSTM paper's CIFAR-10 recipe (Sections 4.3 and 5.1): SGD, momentum 0.9, weight
# decay 1e-4, batch 64, 100 epochs, lr 0.01 divided by 10 at epochs 50 and 75 (also its
# SVHN recipe); training images resized to 40x40, randomly cropped to 32x32 and flipped.
# The paper trains on the training set and reports (and plots during training) the
# test accuracy: train on all 50k training images, validate and test on the 10k test
# split.
_base_ = ['../../_base_/datasets/cifar10_trainval.py']

train_pipeline = [
    dict(type='Resize', scale=(40, 40)),
    dict(type='RandomCrop', crop_size=32),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=64, dataset=dict(subset='trainval', pipeline=train_pipeline))
val_dataloader = dict(batch_size=64, dataset=dict(subset='test'))
test_dataloader = dict(batch_size=64, dataset=dict(subset='test'))

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[50, 75], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=5)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
