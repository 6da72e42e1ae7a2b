# VGG-1 without RA on CIFAR-10 (the RA-LSTM paper's baseline and recipe).
_base_ = [
    './_base_/vgg1_cifar.py',
    './_base_/cifar10_bs64_100e.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)
default_scope = 'mmpretrain'
