# Layer-RNN C (A-Concat deepened to six CNN modules; GRU cells) with global max pooling
# on CIFAR-10: the paper's Table 2 row (2.5M parameters, 13 conv layers).
# Table 1's last 128-filter module concatenates; it forwards here, which gives Table
# 2's count (README: departures).
_base_ = ['./_base_/lrnn_cifar10.py']
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)

model = dict(
    backbone=dict(arch='c', cell='gru', global_pool='max'),
    head=dict(in_channels=384))
