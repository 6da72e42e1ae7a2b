# CIFAR-100 on all 50k training images, validated and tested on the 10k test split: as
# cifar10_full.py.
_base_ = ['./cifar100_trainval.py']

train_dataloader = dict(dataset=dict(subset='train', holdout=0))
val_dataloader = dict(dataset=dict(subset='test'))
