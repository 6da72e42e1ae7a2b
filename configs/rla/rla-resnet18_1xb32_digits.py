# The quick-start job: a short, real, offline classification run of RLA-ResNet-18 on
# scikit-learn's digits (CPU, a few minutes). `bash tools/quickstart.sh` runs it.
_base_ = [
    '../_base_/datasets/digits.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='RLAResNet',
        depth=18,
        rla_channels=32,
        out_indices=(3, ),
        zero_init_residual=False),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=512 + 32,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )))

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))
param_scheduler = dict(type='CosineAnnealingLR', by_epoch=True, T_max=4)
train_cfg = dict(by_epoch=True, max_epochs=4, val_interval=4)
val_cfg = dict()
test_cfg = dict()

# AtomicCheckpointHook (mmrla.engine): CheckpointHook's arguments; a kill while saving
# never leaves a partial checkpoint or a last_checkpoint naming one
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=15),
    checkpoint=dict(type='AtomicCheckpointHook', interval=4, max_keep_ckpts=1))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0, deterministic=False)
