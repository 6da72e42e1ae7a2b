# CRMN-20: the baseline's body read by a 100-unit peephole LSTM (every block output,
# 2x2 mean-pooled; the paper's setting, configs/crmn); the classifier reads
# concat(GAP(x), h).
_base_ = ['./resnet20_fmnist.py']
model = dict(
    backbone=dict(_delete_=True, type='CRMN', depth=20, stem_type='cifar',
                  in_channels=1, lstm_channels=100, pool='2x2',
                  input_size=(32, 32)),
    head=dict(in_channels=64 + 100))
