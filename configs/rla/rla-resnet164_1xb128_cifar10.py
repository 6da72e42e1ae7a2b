# RLA-ResNet-164: He et al.'s pre-activation Bottleneck CIFAR body (3x18 blocks,
# 64/128/256 output channels), on CIFAR-10 with RLA-Net's CIFAR recipe. k = 8
# reproduces the paper's +0.02M parameters (configs/rla/README.md).
_base_ = ['./rla-resnet110_1xb128_cifar10.py']
model = dict(
    backbone=dict(depth=164, preact=True, rla_channels=8),
    head=dict(in_channels=256 + 8))
