# RA-LSTM on the baseline's body: an LSTM reads the last block of each stage (mapped to
# 64-vectors) from low to high level; 'RA' readout u = ReLU(W h_3). The paper pairs
# C = 256 channels with 256 LSTM units; at this body's C = 64, 64 units.
_base_ = ['./resnet20_fmnist.py']
model = dict(
    backbone=dict(_delete_=True, type='RAResNet', depth=20, stem_type='cifar',
                  in_channels=1, lstm_channels=64, readout='RA'),
    head=dict(in_channels=64))
