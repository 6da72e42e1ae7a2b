# Layer-RNN Network B (5 conv layers, concatenation, one L-RNN module), vanilla RNN
# cells with LN, on CIFAR-10.
_base_ = ['./_base_/lrnn_cifar10.py']
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)

model = dict(
    backbone=dict(arch='B', cell='rnn', global_pool='max'),
    head=dict(in_channels=512))
