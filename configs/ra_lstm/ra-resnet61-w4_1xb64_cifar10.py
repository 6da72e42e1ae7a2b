# ResNet-RA on CIFAR-10 (Sections 3-4, Table 1): the last block of each stage
# (32x32x64 shallow, 16x16x128 middle, 8x8x256 last) mapped to 256-vectors, a
# 256-unit LSTM over the three, 256d-fc, softmax.
_base_ = ['./resnet61-w4_1xb64_cifar10.py']
model = dict(
    backbone=dict(type='RAResNet', lstm_channels=256, readout='RA'),
    # the RA readout u = ReLU(W h_3) (Eq. 3, the 256d-fc of Table 1) is part of the
    # backbone; the head is the softmax layer
    neck=dict(_delete_=True, type='GlobalAveragePooling'),
    head=dict(
        _delete_=True,
        type='LinearClsHead',
        num_classes=10,
        in_channels=256,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
