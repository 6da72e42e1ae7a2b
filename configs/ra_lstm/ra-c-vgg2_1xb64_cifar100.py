# VGG-2 with recurrent aggregation on CIFAR-100, RA-C readout:
# concat(h_1, ..., h_6).
_base_ = ['./ra-vgg2_1xb64_cifar100.py']
model = dict(backbone=dict(readout='RA-C'), head=dict(in_channels=6 * 256))
