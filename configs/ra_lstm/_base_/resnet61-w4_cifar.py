# The RA-LSTM paper's ResNet without RA (Section 4.3, Table 1): 3x3 stem of 64 maps and
# three stages of 10 basic blocks with 64, 128 and 256 channels: 21 + 20 + 20 = 61
# conv layers ("totally 61 layers", Section 5.1); the classifier is global average
# pooling, one 256-unit fully connected layer (ReLU) and the softmax layer.
# depth=62: 6n + 2 with n = 10 blocks per stage (61 convs and the classifier).
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNetBody',
        depth=62,
        stem_type='cifar',
        widen_factor=4),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='StackedLinearClsHead',
        num_classes=10,
        in_channels=256,
        mid_channels=[256],
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
