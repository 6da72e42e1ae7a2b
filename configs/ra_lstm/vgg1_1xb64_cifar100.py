# VGG-1 without RA on CIFAR-100 (the RA-LSTM paper's baseline, Table 1): six 3x3 convs
# in three blocks, 2x2 max-pooling, 1024d-fc x2, softmax.
_base_ = [
    './_base_/vgg1_cifar.py',
    './_base_/cifar100_bs64_100e.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)
default_scope = 'mmpretrain'
model = dict(head=dict(num_classes=100))
