# VGG-1 with recurrent aggregation on CIFAR-100, RA-B readout:
# concat(h_3, GAP(last block)).
_base_ = ['./ra-vgg1_1xb64_cifar100.py']
model = dict(backbone=dict(readout='RA-B'), head=dict(in_channels=256 + 512))
