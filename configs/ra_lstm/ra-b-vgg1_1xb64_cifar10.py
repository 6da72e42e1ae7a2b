# VGG-1-RA-B on CIFAR-10 (Section 5.2, Fig. 7): the classifier reads
# concat(h_3, GAP(last block)).
_base_ = ['./ra-vgg1_1xb64_cifar10.py']
model = dict(backbone=dict(readout='RA-B'), head=dict(in_channels=256 + 512))
