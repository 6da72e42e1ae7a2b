# ECA+RLA-MobileNetV2: ECA after every projection, kernel 1 below 96 channels, else 3
# (ECA-Net's MobileNetV2 rule, the default of RLAMobileNetV2's ECA option).
_base_ = './rla-mobilenetv2_2xb48_in1k.py'

model = dict(backbone=dict(attention=dict(type='ECA')))
