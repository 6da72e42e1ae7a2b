# ECA-ResNet-20: the baseline's body with ECA on every residual branch and no RLA (the
# control that tells ECA's effect from RLA's in eca-rla-resnet20_fmnist); kernel sizes
# by ECA-Net's rule from each stage's channels ('adaptive': 3 for 16, 32 and 64).
_base_ = ['./resnet20_fmnist.py']
model = dict(backbone=dict(attention=dict(type='ECA', kernel_size='adaptive')))
