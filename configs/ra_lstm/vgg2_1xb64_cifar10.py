# VGG-2 without RA on CIFAR-10 (Section 4.3, Table 1): VGG-1 with four 3x3 convs per
# stage, grouped into 3 blocks of four; the same classifier (1024d-fc x2).
_base_ = ['./vgg1_1xb64_cifar10.py']
model = dict(backbone=dict(convs_per_block=4))
