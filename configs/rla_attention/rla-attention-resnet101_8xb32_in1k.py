# Recurrent layer attention on ResNet-101, ImageNet-1k, the paper's settings (M = 512,
# r = 16); see the ResNet-50 config.
_base_ = ['./rla-attention-resnet50_8xb32_in1k.py']
model = dict(backbone=dict(depth=101, reduction=16))
