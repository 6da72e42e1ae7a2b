# Layer-RNN A-Concat-RNN (two CNN modules, one L-RNN module, concatenation; vanilla RNN
# cells with LN) with global max pooling on CIFAR-10: the paper's Table 2 row (0.9M
# parameters, 5 conv layers).
_base_ = ['./_base_/lrnn_cifar10.py']
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)

model = dict(
    backbone=dict(arch='a-concat', cell='rnn', global_pool='max'),
    head=dict(in_channels=512))
