_base_ = './rla-resnet18_4xb64_in1k.py'

model = dict(backbone=dict(depth=34))
