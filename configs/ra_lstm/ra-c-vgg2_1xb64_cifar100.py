# VGG-2-RA-C on CIFAR-100 (Section 5.2, Fig. 8): the classifier reads
# concat(h_1, h_2, h_3).
_base_ = ['./ra-vgg2_1xb64_cifar100.py']
model = dict(backbone=dict(readout='RA-C'), head=dict(in_channels=3 * 256))
