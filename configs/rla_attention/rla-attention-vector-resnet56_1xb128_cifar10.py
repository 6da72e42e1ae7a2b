# RLA-vector (a channel vector of attention per block) on CIFAR ResNet-56: M = 32
# (Appendix C), N = 64, r = 32 (one hidden unit per head), the setting that gives
# Table 1's count (+14,288 parameters: 0.876M - 0.862M); r = 2 would add 42,368
# (configs/rla_attention/README.md).
_base_ = ['./rla-attention-resnet56_1xb128_cifar10.py']
model = dict(backbone=dict(lstm_channels=32, reduction=32, vector=True))
