# RLA-ResNet-110 on CIFAR-10 with RLA-Net's CIFAR recipe (Nesterov SGD, 300 epochs,
# batch 128, 45k/5k train/val split; the test split gives the reported accuracy).
_base_ = [
    '../_base_/models/rla-resnet110_cifar.py',
    '../_base_/datasets/cifar10_trainval.py',
    '../_base_/schedules/cifar_bs128_300e.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)
