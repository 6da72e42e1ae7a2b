# The RA-LSTM paper's CIFAR-10 recipe: SGD, momentum 0.9, weight decay 1e-4, batch 64,
# 100 epochs, lr 0.01 divided by 10 at epochs 50 and 75 (also its SVHN recipe). Data:
# the project's CIFAR-10 with the 45k/5k train/val split and the 10k test split.
_base_ = ['../../_base_/datasets/cifar10_trainval.py']

train_dataloader = dict(batch_size=64)
val_dataloader = dict(batch_size=64)
test_dataloader = dict(batch_size=64)

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[50, 75], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=5)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
