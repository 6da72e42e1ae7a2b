# IA+RLA: an SE block (intra-layer attention) on every residual branch, then the
# layer attention, on CIFAR ResNet-56 (M = 4, r = 2).
_base_ = ['./rla-attention-resnet56_1xb128_cifar10.py']
model = dict(backbone=dict(attention=dict(type='SE', ratio=16)))
