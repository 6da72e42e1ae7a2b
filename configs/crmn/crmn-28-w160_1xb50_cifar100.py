# CRMN on the 28-layer pre-activation body with 160 maps (WRN-28-10's layout: 4 blocks
# per stage, stages of 160/320/640 maps after a 16-map stem) on CIFAR-100, with the
# paper's changes for this model (Sec. 4.2): batch 50 and the rates 0.1, 0.01, 0.005,
# 0.001 (one step per validation plateau, the best model reloaded each time).
_base_ = ['./crmn-32-w16_1xb100_cifar100.py']
model = dict(
    backbone=dict(depth=28, widen_factor=10, stem_channels=16, preact=True),
    head=dict(in_channels=640 + 100))
train_dataloader = dict(batch_size=50)
val_dataloader = dict(batch_size=50)
test_dataloader = dict(batch_size=50)
param_scheduler = dict(
    _delete_=True,
    type='ReduceOnPlateauStepsLR',
    values=[0.1, 0.01, 0.005, 0.001],
    monitor='accuracy/top1',
    rule='greater',
    patience=10,
    threshold=0.0,
    by_epoch=True)
auto_scale_lr = dict(base_batch_size=50)
