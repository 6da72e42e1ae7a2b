# VGG-1 with recurrent aggregation (RA readout) on CIFAR-100: the last block of
# each stage (32x32x128 shallow, 16x16x256 middle, 8x8x512 last) mapped to
# 512-vectors, a 256-unit LSTM over the three, u = ReLU(W h_3) (256) to the classifier.
_base_ = ['./vgg1_1xb64_cifar100.py']
model = dict(
    backbone=dict(type='RAVGG', lstm_channels=256, readout='RA'),
    head=dict(in_channels=256))
