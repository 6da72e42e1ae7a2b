# CRMN-32 (first-layer width 16, post-activation) on CIFAR-100, the paper's recipe
# (Sec. 4): batch 100, 45k/5k split, learning rate 0.1 -> 0.01 -> 0.001 on validation
# plateaus with the best model reloaded, padded random crops without flips
# (configs/crmn/README.md).
_base_ = [
    '../_base_/models/crmn-32_cifar.py',
    './_base_/cifar100_bs100.py',
    './_base_/plateau_schedule.py',
]
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)
model = dict(head=dict(num_classes=100))
