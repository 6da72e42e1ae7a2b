# ResNet-RA-C on CIFAR-10 (Section 5.2, Fig. 8): the classifier reads
# concat(h_1, h_2, h_3).
_base_ = ['./ra-resnet61-w4_1xb64_cifar10.py']
model = dict(backbone=dict(readout='RA-C'), head=dict(in_channels=3 * 256))
