# Recurrent layer attention on the baseline's body: one LSTM (M = 4 units, r = 2, GAP
# context: the paper's best CIFAR setting, configs/rla_attention) scales every
# residual branch.
_base_ = ['./resnet20_fmnist.py']
model = dict(
    backbone=dict(_delete_=True, type='LayerAttentionResNet', depth=20,
                  stem_type='cifar', in_channels=1, lstm_channels=4,
                  reduction=2, context='gap'))
