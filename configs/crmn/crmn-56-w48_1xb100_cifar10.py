# The paper's first CIFAR-10 model (Table 3): CRMN on a 56-layer post-activation ResNet
# with 48 first-layer maps (stages of 48/96/192), the paper's recipe (batch 100,
# 0.1 -> 0.01 -> 0.001 on validation plateaus with the best model reloaded).
_base_ = [
    '../_base_/models/crmn-32_cifar.py',
    './_base_/cifar10_bs100.py',
    './_base_/plateau_schedule.py',
]
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)
model = dict(
    backbone=dict(depth=56, stem_channels=48, base_channels=48, preact=False),
    head=dict(in_channels=4 * 48 + 100))
