# The RA-LSTM paper's ResNet without RA on CIFAR-10 (Section 4.3, Table 1): 61 conv
# layers (64/128/256 channels, 10 basic blocks per stage), GAP, 256d-fc, softmax.
_base_ = [
    './_base_/resnet61-w4_cifar.py',
    './_base_/cifar10_bs64_100e.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)
default_scope = 'mmpretrain'
