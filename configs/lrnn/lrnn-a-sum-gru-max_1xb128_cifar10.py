# Layer-RNN A-Sum-GRU (two CNN modules, one L-RNN module, residual sums with 1x1 convs;
# GRU cells) with global max pooling on CIFAR-10: the paper's Table 2 row (1.99M
# parameters, 5 conv layers).
# A 1x1 conv lifts each widening module's input, and the module reads the lifted map
# (README: departures).
_base_ = ['./_base_/lrnn_cifar10.py']
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)

model = dict(
    backbone=dict(arch='a-sum', cell='gru', global_pool='max'),
    head=dict(in_channels=256))
