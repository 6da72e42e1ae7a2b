# CRMN on the 28-layer pre-activation body with 160 maps (WRN-28-10: 4 blocks per stage,
# stages of 160/320/640 maps after a 16-map stem) on CIFAR-100.
_base_ = ['./crmn-32-w16_1xb128_cifar100.py']
model = dict(
    backbone=dict(depth=28, widen_factor=10, stem_channels=16, preact=True),
    head=dict(in_channels=640 + 100))
