# VGG-2 with recurrent aggregation (RA readout) on CIFAR-10: both two-conv blocks
# of every stage are read (at most two per stage): two shallow, two middle at 16x16, a
# middle at 8x8 (1x the last: a 1x1 conv) and the last block, N = 6 steps of a
# 256-unit LSTM.
_base_ = ['./vgg2_1xb64_cifar10.py']
model = dict(
    backbone=dict(
        type='RAVGG',
        selected=[(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)],
        lstm_channels=256,
        readout='RA'),
    head=dict(in_channels=256))
