# Recurrent layer attention on ResNet-18, ImageNet-1k, the paper's settings (M = 512,
# r = 8); see the ResNet-50 config.
_base_ = ['./rla-attention-resnet50_8xb32_in1k.py']
model = dict(backbone=dict(depth=18), head=dict(in_channels=512))
