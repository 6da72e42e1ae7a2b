# Context ablation: gmp_mlp instead of GAP, CIFAR ResNet-56 (M = 4, r = 2).
_base_ = ['./rla-attention-resnet56_1xb128_cifar10.py']
model = dict(backbone=dict(context='gmp_mlp'))
