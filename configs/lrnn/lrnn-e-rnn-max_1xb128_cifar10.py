# Layer-RNN E (L-RNN modules interleaved with CNN modules; vanilla RNN cells with LN)
# with global max pooling on CIFAR-10: the paper's Table 2 row (0.97M parameters, 7 conv
# layers).
_base_ = ['./_base_/lrnn_cifar10.py']
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)

model = dict(
    backbone=dict(arch='e', cell='rnn', global_pool='max'),
    head=dict(in_channels=256))
