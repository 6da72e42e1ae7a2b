# The layer-attention paper's CIFAR recipe (Sec. 4.2, Appendix A): 160 epochs, lr 0.1
# divided by 10 at epochs 80 and 120, Nesterov SGD with momentum 0.9 and weight decay
# 1e-4, batch 128 (He et al.'s); validation every epoch (the paper's curves).
optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4, nesterov=True))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[80, 120], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=160, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
