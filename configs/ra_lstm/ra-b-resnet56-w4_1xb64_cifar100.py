# The paper's ResNet with recurrent aggregation on CIFAR-100, RA-B readout:
# concat(h_3, GAP(last block)).
_base_ = ['./ra-resnet56-w4_1xb64_cifar100.py']
model = dict(backbone=dict(readout='RA-B'), head=dict(in_channels=256 + 256))
