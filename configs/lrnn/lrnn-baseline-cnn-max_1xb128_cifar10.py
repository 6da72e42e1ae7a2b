# The Layer-RNN paper's Baseline-CNN with global max pooling on CIFAR-10: Table 2's
# Baseline-CNN-Max row (1.56M parameters, 7 conv layers, concatenation at every skip, no
# L-RNN).
_base_ = ['./_base_/lrnn_cifar10.py']
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)

model = dict(
    backbone=dict(arch='baseline-cnn', global_pool='max'),
    head=dict(in_channels=512))
