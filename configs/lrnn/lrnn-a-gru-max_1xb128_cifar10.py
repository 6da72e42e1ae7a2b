# Layer-RNN Network A (5 conv layers, feed-forward fusion, one L-RNN module) with GRU
# cells on CIFAR-10.
_base_ = ['./_base_/lrnn_cifar10.py']
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)

model = dict(
    backbone=dict(arch='A', cell='gru', global_pool='max'),
    head=dict(in_channels=256))
