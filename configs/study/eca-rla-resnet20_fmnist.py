# ECA+RLA-ResNet-20: RLA-ResNet-20 with ECA on every residual branch, kernel sizes by
# ECA-Net's rule from each stage's channels ('adaptive': 3 for 16, 32 and 64).
_base_ = ['./rla-resnet20_fmnist.py']
model = dict(backbone=dict(attention=dict(type='ECA', kernel_size='adaptive')))
