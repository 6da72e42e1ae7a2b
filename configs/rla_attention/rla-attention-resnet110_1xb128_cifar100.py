# Recurrent layer attention on CIFAR ResNet-110, CIFAR100; see the ResNet-56 config.
_base_ = ['./rla-attention-resnet56_1xb128_cifar100.py']
model = dict(backbone=dict(depth=110))
