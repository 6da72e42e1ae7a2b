# CRMN's schedule (Moniz & Pal, Sec. 4): SGD, momentum 0.9, weight decay 1e-4, learning
# rate 0.1; when the held-out accuracy has not improved for `patience` epochs the best
# model so far is reloaded and the rate divided by 10 (0.1 -> 0.01 -> 0.001); a plateau
# at 0.001 ends the run with the best model. The paper does not give its patience
# (beta): 10 validation epochs here. PlateauReloadHook then writes
# <work_dir>/<config>_final.py: the run on all 50k training images with the kept
# model's schedule as fixed steps, validated on the test split (the paper's final run).
# mmpretrain's default runtime is included (its checkpoint hook is changed here).
_base_ = ['mmpretrain::_base_/default_runtime.py']

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = dict(
    type='ReduceOnPlateauLR',
    monitor='accuracy/top1',
    rule='greater',
    factor=0.1,
    min_value=0.001,
    patience=10,
    threshold=0.0,  # any improvement counts
    by_epoch=True)
train_cfg = dict(by_epoch=True, max_epochs=400, val_interval=1)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook',
        interval=10,
        max_keep_ckpts=2,
        save_best='accuracy/top1',
        rule='greater'))
custom_hooks = [
    dict(
        type='PlateauReloadHook',
        final_run=dict(
            train_dataloader=dict(dataset=dict(holdout=0)),  # all 50k images
            val_dataloader=dict(dataset=dict(subset='test'))))
]
auto_scale_lr = dict(base_batch_size=100)
