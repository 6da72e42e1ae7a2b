# Recurrent layer attention on ResNet-101, ImageNet-1k: M = 512, r = 16 (Appendix C),
# N = 1024; 48,238,664 parameters, Table 2's 48.24M. See the ResNet-50 config.
_base_ = ['./rla-attention-resnet50_8xb32_in1k.py']
model = dict(backbone=dict(depth=101, reduction=16))
