# CIFAR-10 on all 50k training images, validated and tested on the 10k test split (the
# split the paper's curves and tables report), batch 128, 4-pixel padded random crops
# and horizontal flips: cifar10_trainval.py without the held-out 5k (holdout=0).
_base_ = ['./cifar10_trainval.py']

train_dataloader = dict(dataset=dict(subset='train', holdout=0))
val_dataloader = dict(dataset=dict(subset='test'))
