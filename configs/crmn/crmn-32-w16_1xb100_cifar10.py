# CRMN-32 (first-layer width 16) on CIFAR-10 with the paper's recipe: a small CIFAR-10
# CRMN (the paper's CIFAR-10 models are crmn-56-w48 and crmn-28-w160).
_base_ = [
    '../_base_/models/crmn-32_cifar.py',
    './_base_/cifar10_bs100.py',
    './_base_/plateau_schedule.py',
]
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)
