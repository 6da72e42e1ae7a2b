# The RA-LSTM paper's CIFAR ResNet: three stages of about 20 conv layers with 64, 128
# and 256 channels. He et al.'s ResNet-56 body four times wider: 3x3 stem of 64 maps,
# 9 basic blocks (18 convs) per stage, 64/128/256 channels (no RA: the baseline).
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNetBody', depth=56, stem_type='cifar', widen_factor=4),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=256,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
