# CRMN-32 (first-layer width 16) on CIFAR-100. The CRMN schedule is not restated in our
# sources: He et al.'s 160-epoch CIFAR schedule (configs/crmn/README.md).
_base_ = [
    '../_base_/models/crmn-32_cifar.py',
    '../_base_/datasets/cifar100_trainval.py',
    '../_base_/schedules/cifar_bs128_160e.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)
model = dict(head=dict(num_classes=100))
