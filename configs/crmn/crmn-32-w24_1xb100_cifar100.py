# CRMN-32 with first-layer width 24 (post-activation) on CIFAR-100.
_base_ = ['./crmn-32-w16_1xb100_cifar100.py']
model = dict(
    backbone=dict(stem_channels=24, base_channels=24, preact=False),
    head=dict(in_channels=4 * 24 + 100))
