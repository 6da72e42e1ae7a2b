# VGG-2 with recurrent aggregation on CIFAR-100, RA-B readout:
# concat(h_6, GAP(last block)).
_base_ = ['./ra-vgg2_1xb64_cifar100.py']
model = dict(backbone=dict(readout='RA-B'), head=dict(in_channels=256 + 512))
