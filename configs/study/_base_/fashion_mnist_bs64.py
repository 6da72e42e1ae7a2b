# The study's one recipe and one budget (docs/study/README.md), shared by every arm.
#
# Data: Fashion-MNIST (Zalando; 60k training and 10k test images, 28x28 grey, 10
# clothing classes), the four idx files that `bash tools/fetch_data.sh fashion_mnist`
# puts in data/fashion_mnist, read as they are by mmpretrain's FashionMNIST
# (download=False: nothing is fetched at run time). Images are resized to 32x32 (the
# CIFAR input size the bodies and CRMN's 2x2 pooling are built for) and stay one
# channel: the backbones take in_channels=1, so no arm spends its stem on three copies
# of one grey value.
#
# Budget (docs/study/README.md has the measurement): the first `train_size` training
# images (942 to 1,027 per class), `max_epochs` epochs, and after every epoch the
# validation top-1 on the whole test split (10,000 images, 1,000 per class: a
# 2,000-image subset added about 0.7 points of sampling noise to every run), which no
# choice of the recipe was tuned on.
train_size = 10000
val_size = 10000
dataset_type = 'FashionMNIST'
data_root = 'data/fashion_mnist'
data_preprocessor = dict(
    num_classes=10,
    mean=[72.94],  # Fashion-MNIST's mean and std of the training images (0-255)
    std=[90.02],
    to_rgb=False)

train_pipeline = [
    dict(type='Resize', scale=(32, 32)),
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='Resize', scale=(32, 32)),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=0,  # in-memory arrays; workers would only compete for the 2 cores
    persistent_workers=False,  # (mmpretrain's tools/train.py defaults it to True)
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        download=False,
        indices=train_size,
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=256,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        test_mode=True,
        download=False,
        indices=val_size,
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

# SGD with Nesterov momentum, batch 64, lr 0.05 (He et al.'s 0.1 for batch 128,
# scaled) after a one-epoch linear warm-up, cosine decay to 0, weight decay 5e-4: a
# short version of the papers' CIFAR recipe that ends at a converged point whatever the
# budget. Batch 64 rather than 128: twice the steps for the same images (a one-thread
# CPU run costs the same per image either way); 160 steps of 128 (5k images, 4 epochs)
# left ResNet-20 at 61 % top-1.
max_epochs = 10
optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=max_epochs,
         T_max=max_epochs - 1, eta_min=0.0, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()

default_scope = 'mmpretrain'
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # the newest epoch only: an interrupted run resumes from it (train.py --resume)
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
# LocalVisBackend writes <work_dir>/<timestamp>/vis_data/scalars.json, which
# tools/analysis/study.py reads
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)
