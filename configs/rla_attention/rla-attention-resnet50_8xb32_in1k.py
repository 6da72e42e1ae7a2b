# Recurrent layer attention on ResNet-50, ImageNet-1k, the paper's settings: M = 512
# LSTM units, r = 8, GAP context; 100 epochs, lr 0.1 divided by 10 every 30 epochs,
# batch 256 (8 GPUs x 32).
_base_ = [
    'mmpretrain::_base_/models/resnet50.py',
    'mmpretrain::_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='LayerAttentionResNet',
        depth=50,
        lstm_channels=512,
        reduction=8,
        context='gap'),
    head=dict(in_channels=2048))

train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=1)
