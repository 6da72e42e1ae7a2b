# Layer-RNN B-GRU (A-Concat deepened to four CNN modules; GRU cells) with global max
# pooling on CIFAR-10: the paper's Table 2 row (2.3M parameters, 9 conv layers).
_base_ = ['./_base_/lrnn_cifar10.py']
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)

model = dict(
    backbone=dict(arch='b', cell='gru', global_pool='max'),
    head=dict(in_channels=512))
