# The paper's ResNet with recurrent aggregation on CIFAR-10, RA-C readout:
# concat(h_1, h_2, h_3).
_base_ = ['./ra-resnet56-w4_1xb64_cifar10.py']
model = dict(backbone=dict(readout='RA-C'), head=dict(in_channels=3 * 256))
