# CRMN-32 (first-layer width 16) on CIFAR-10.
_base_ = [
    '../_base_/models/crmn-32_cifar.py',
    '../_base_/datasets/cifar10_trainval.py',
    '../_base_/schedules/cifar_bs128_160e.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)
