# The paper's second CIFAR-10 model (Table 3): CRMN on the 28-layer pre-activation body
# with 160 maps, batch 50, rates 0.1, 0.01, 0.005, 0.001 (as the CIFAR-100 one,
# crmn-28-w160_1xb50_cifar100.py).
_base_ = [
    '../_base_/models/crmn-32_cifar.py',
    './_base_/cifar10_bs100.py',
    './_base_/plateau_schedule.py',
]
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)
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
