# He et al.'s plain CIFAR ResNet-32 (mmrla's ResNetBody, width 16), the baseline of
# CRMN-32 in tools/analysis/benchmark.py: CRMN's recipe (configs/crmn/README.md, Sec. 4:
# batch 100, 45k/5k split, plateau schedule with the best model reloaded, padded crops
# without flips) with the memory removed.
_base_ = ['../crmn/crmn-32-w16_1xb100_cifar100.py']
model = dict(
    backbone=dict(
        _delete_=True, type='ResNetBody', depth=32, stem_type='cifar'),
    head=dict(in_channels=64))
