# Recurrent layer attention on CIFAR ResNet-20, CIFAR10; see the ResNet-56 config.
_base_ = ['./rla-attention-resnet56_1xb128_cifar10.py']
model = dict(backbone=dict(depth=20))
