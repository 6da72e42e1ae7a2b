# Layer-RNN Network F (reconstructed: CNN modules interleaved with L-RNN modules, 15
# conv layers) on CIFAR-10.
_base_ = ['./_base_/lrnn_cifar10.py']
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)

model = dict(
    backbone=dict(arch='F', cell='rnn', global_pool='max'),
    head=dict(in_channels=128))
