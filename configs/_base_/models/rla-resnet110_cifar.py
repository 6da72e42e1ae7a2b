# RLA-ResNet-110 on He et al.'s CIFAR BasicBlock body (3x18 blocks, 16/32/64 channels).
# k = 4 reproduces RLA-Net's +0.07M parameters (configs/rla/README.md).
rla_channels = 4
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='RLAResNet',
        depth=110,
        stem_type='cifar',
        rla_channels=rla_channels,
        zero_init_residual=False),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        # concat(x, relu(BN(h))): 64 + k channels
        in_channels=64 + rla_channels,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
