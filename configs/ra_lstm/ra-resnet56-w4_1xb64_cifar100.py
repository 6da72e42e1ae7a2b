# The RA-LSTM paper's ResNet with recurrent aggregation (RA readout) on CIFAR-100:
# the last block of each stage (32x32x64 shallow, 16x16x128 middle, 8x8x256 last)
# mapped to 256-vectors, a 256-unit LSTM over the three, u = ReLU(W h_3) (256) to the
# classifier.
_base_ = ['./resnet56-w4_1xb64_cifar100.py']
model = dict(
    backbone=dict(type='RAResNet', lstm_channels=256, readout='RA'),
    head=dict(in_channels=256))
