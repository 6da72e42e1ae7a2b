# VGG-2 without RA on CIFAR-10: VGG-1 with four 3x3 convs per stage (two blocks
# of two).
_base_ = ['./vgg1_1xb64_cifar10.py']
model = dict(backbone=dict(stage_blocks=(2, 2, 2)))
