# RLA-ResNet-50 on ImageNet-1k with the RLA-Net paper's recipe: SGD (momentum 0.9,
# weight decay 1e-4), batch 256 as 4 GPUs x 64, lr 0.1 divided by 10 every 30 epochs,
# 120 epochs, Kaiming init (mmpretrain's ResNet default) without zero-init residuals.
_base_ = [
    'mmpretrain::_base_/models/resnet50.py',
    'mmpretrain::_base_/datasets/imagenet_bs64.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='RLAResNet',
        depth=50,
        rla_channels=32,
        out_indices=(3, ),
        zero_init_residual=False),
    # The last backbone output is concat(x, relu(BN(h))): 2048 + 32 channels.
    head=dict(in_channels=2080))

param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[30, 60, 90], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=120, val_interval=1)
auto_scale_lr = dict(base_batch_size=256)
