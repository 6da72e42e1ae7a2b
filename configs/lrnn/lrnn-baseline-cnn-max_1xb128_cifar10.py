# Layer-RNN paper's Baseline-CNN (7 conv layers, concatenation at every skip, no
# L-RNN) on CIFAR-10.
_base_ = ['./_base_/lrnn_cifar10.py']
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)

model = dict(
    backbone=dict(arch='baseline', global_pool='max'),
    head=dict(in_channels=512))
