# Baseline of every arm: He et al.'s plain CIFAR ResNet-20 (mmrla's ResNetBody: 3x3
# stem, 3 stages of 3 BasicBlocks with 16/32/64 channels), one-channel input.
_base_ = ['./_base_/fashion_mnist_bs64.py']
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNetBody', depth=20, stem_type='cifar', in_channels=1),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
