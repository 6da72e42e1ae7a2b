# Layer-RNN A-Forward-GRU (two CNN modules, one L-RNN module, feed-forward; GRU cells)
# with global max pooling on CIFAR-10: the paper's Table 2 row (1.68M parameters, 5 conv
# layers).
_base_ = ['./_base_/lrnn_cifar10.py']
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)

model = dict(
    backbone=dict(arch='a-forward', cell='gru', global_pool='max'),
    head=dict(in_channels=256))
