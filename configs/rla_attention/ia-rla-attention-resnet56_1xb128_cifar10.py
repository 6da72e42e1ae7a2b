# IA+RLA: an SE block (intra-layer attention) on every residual branch, then the
# layer attention, on CIFAR ResNet-56 (M = 4, r = 2). The SE is the paper's plain one,
# C/16 hidden units (divisor=1: mmpretrain's default rounds them up to 8): 7,119
# parameters on top of RLA, Table 1's 0.870M - 0.864M.
_base_ = ['./rla-attention-resnet56_1xb128_cifar10.py']
model = dict(backbone=dict(attention=dict(type='SE', ratio=16, divisor=1)))
