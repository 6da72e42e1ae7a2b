# RA-LSTM's own baseline (the RA-LSTM paper, Table 1 and Section 5.1): the plain
# ResNet-20 whose classifier is global average pooling, one 256-unit fully connected
# layer (ReLU) and the softmax layer, as the paper's ResNet without RA.
_base_ = ['./resnet20_fmnist.py']
model = dict(
    head=dict(
        _delete_=True,
        type='StackedLinearClsHead',
        num_classes=10,
        in_channels=64,
        mid_channels=[256],
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
