# RLA-MobileNetV2 (k=32, depthwise recurrent conv) on ImageNet-1k with the RLA-Net
# paper's recipe: 2 GPUs, batch 96 in all (2 x 48), SGD (momentum 0.9, weight decay
# 4e-5), lr 0.045 multiplied by 0.98 every epoch, 400 epochs.
_base_ = ['mmpretrain::mobilenet_v2/mobilenet-v2_8xb32_in1k.py']
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='RLAMobileNetV2',
        rla_channels=32,
        recurrent_conv='depthwise',
        out_indices=(7, )),
    # conv2 reads concat(x, relu6(BN(h))) and still gives 1280 channels
    head=dict(in_channels=1280))

train_dataloader = dict(batch_size=48)
val_dataloader = dict(batch_size=48)
test_dataloader = dict(batch_size=48)
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.045, momentum=0.9, weight_decay=4e-5))
param_scheduler = dict(type='StepLR', by_epoch=True, step_size=1, gamma=0.98)
train_cfg = dict(by_epoch=True, max_epochs=400, val_interval=1)
auto_scale_lr = dict(base_batch_size=96)
