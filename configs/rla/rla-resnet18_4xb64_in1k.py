# RLA on the BasicBlock ResNet-18 (mmrla's addition: the official code has no
# BasicBlock RLA-ResNet); same recipe as RLA-ResNet-50.
_base_ = './rla-resnet50_4xb64_in1k.py'

model = dict(backbone=dict(depth=18), head=dict(in_channels=512 + 32))
