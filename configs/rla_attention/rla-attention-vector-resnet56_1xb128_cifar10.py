# RLA-vector (a channel vector of attention per block) on CIFAR ResNet-56, M = 32
# as in the paper's ablation, r = 2.
_base_ = ['./rla-attention-resnet56_1xb128_cifar10.py']
model = dict(backbone=dict(lstm_channels=32, vector=True))
