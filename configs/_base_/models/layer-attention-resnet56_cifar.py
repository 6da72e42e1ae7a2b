# LayerAttentionResNet on He et al.'s CIFAR ResNet-56 (3x9 BasicBlocks, 16/32/64
# channels) with the paper's best CIFAR setting: M = 4 LSTM units, r = 2, GAP context.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='LayerAttentionResNet',
        depth=56,
        stem_type='cifar',
        lstm_channels=4,
        reduction=2,
        context='gap'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
