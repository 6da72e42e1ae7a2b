# RLA-ResNet-164 on CIFAR-100 with RLA-Net's CIFAR recipe (see the CIFAR-10 config).
_base_ = ['./rla-resnet110_1xb128_cifar100.py']
model = dict(
    backbone=dict(depth=164, preact=True, rla_channels=8),
    head=dict(in_channels=256 + 8))
