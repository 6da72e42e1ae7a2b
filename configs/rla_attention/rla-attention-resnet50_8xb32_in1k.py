# Recurrent layer attention on ResNet-50, ImageNet-1k: M = 512 LSTM units, r = 16, GAP
# context (N = 1024), the setting whose count is Table 2's 28.97M (Appendix C's r = 8
# gives 29.23M; configs/rla_attention/README.md); 100 epochs, lr 0.1 divided by 10 every
# 30 epochs, batch 256 (8 GPUs x 32), Nesterov SGD (Appendix A).
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
        reduction=16,
        context='gap'),
    head=dict(in_channels=2048))
optim_wrapper = dict(optimizer=dict(nesterov=True))

train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=1)
