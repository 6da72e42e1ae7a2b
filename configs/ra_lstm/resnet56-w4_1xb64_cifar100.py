# The RA-LSTM paper's ResNet (64/128/256 channels, ~20 convs per stage) without RA on
# CIFAR-100: ResNet-56 four times wider (configs/ra_lstm/README.md).
_base_ = [
    './_base_/resnet56-w4_cifar.py',
    './_base_/cifar100_bs64_100e.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)
default_scope = 'mmpretrain'
model = dict(head=dict(num_classes=100))
