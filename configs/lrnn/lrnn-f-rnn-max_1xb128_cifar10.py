# Layer-RNN F (L-RNN modules interleaved with CNN modules; vanilla RNN cells with LN)
# with global max pooling on CIFAR-10: the paper's Table 2 row (1.55M parameters, 15
# conv layers).
# Table 1's layout plus one L-RNN module before the global pooling, which brings the
# count from 1.39M to 1.54M (README: departures).
_base_ = ['./_base_/lrnn_cifar10.py']
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)

model = dict(
    backbone=dict(arch='f', cell='rnn', global_pool='max'),
    head=dict(in_channels=128))
