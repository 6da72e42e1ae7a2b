# Layer-RNN D (A-Concat deepened to nine CNN modules; GRU cells) with global max pooling
# on CIFAR-10: the paper's Table 2 row (3M parameters, 19 conv layers).
# Table 1 gives the second triple of modules at 32x32 128 filters; 64 here, which gives
# Table 2's count (README: departures).
_base_ = ['./_base_/lrnn_cifar10.py']
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)

model = dict(
    backbone=dict(arch='d', cell='gru', global_pool='max'),
    head=dict(in_channels=512))
