# The RA-LSTM paper's VGG-1 for CIFAR (32x32): three stages of two 3x3 conv-BN-ReLU
# layers with 128, 256 and 512 channels, 2x2 max-pooling between stages; global average
# pooling and one linear classifier read the last stage (no RA: the baseline).
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='VGGBody',
        stage_channels=(128, 256, 512),
        stage_blocks=(1, 1, 1),
        convs_per_block=2),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
