# He et al.'s plain CIFAR ResNet-32 (mmrla's ResNetBody, width 16), the baseline of
# CRMN-32 in tools/analysis/benchmark.py; the same recipe as configs/crmn.
_base_ = ['../crmn/crmn-32-w16_1xb128_cifar100.py']
model = dict(
    backbone=dict(
        _delete_=True, type='ResNetBody', depth=32, stem_type='cifar'),
    head=dict(in_channels=64))
