# Recurrent layer attention on CIFAR ResNet-56, CIFAR100, the paper's CIFAR recipe
# (Sec. 4.2, Appendix A): all 50k training images, the 10k test split for validation
# and the reported error, Nesterov SGD, 160 epochs, lr 0.1 divided by 10 at 80 and 120,
# batch 128; M = 4, r = 2, GAP context (configs/rla_attention/README.md).
_base_ = [
    '../_base_/models/layer-attention-resnet56_cifar.py',
    '../_base_/datasets/cifar100_full.py',
    '../_base_/schedules/cifar_bs128_160e.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)

model = dict(backbone=dict(depth=56), head=dict(num_classes=100))
