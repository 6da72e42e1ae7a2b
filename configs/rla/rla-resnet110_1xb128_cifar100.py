# RLA-ResNet-110 on CIFAR-100 with RLA-Net's CIFAR recipe.
_base_ = [
    '../_base_/models/rla-resnet110_cifar.py',
    '../_base_/datasets/cifar100_trainval.py',
    '../_base_/schedules/cifar_bs128_300e.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)
model = dict(head=dict(num_classes=100))
