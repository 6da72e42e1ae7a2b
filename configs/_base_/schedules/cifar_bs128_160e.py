# The layer-attention paper's CIFAR recipe: 160 epochs, lr 0.1 divided by 10 at epochs
# 80 and 120, batch 128; SGD momentum 0.9, weight decay 1e-4 (He et al.).
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[80, 120], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=160, val_interval=5)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
