# CRMN-32 with first-layer width 64 on CIFAR-100: pre-activation, as the paper uses for
# 64 maps and more (Sec. 4.2).
_base_ = ['./crmn-32-w16_1xb100_cifar100.py']
model = dict(
    backbone=dict(stem_channels=64, base_channels=64, preact=True),
    head=dict(in_channels=4 * 64 + 100))
