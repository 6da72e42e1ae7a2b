# The RA-LSTM paper's VGG-1 without RA (Section 4.3, Table 1): three stages of two 3x3
# conv-BN-ReLU layers with 128, 256 and 512 channels, each stage closed by 2x2
# max-pooling; the classifier is two 1024-unit fully connected layers (ReLU) and the
# softmax layer, reading the pooled 4x4x512 map flattened (8192 values at 32x32).
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='VGGBody',
        stage_channels=(128, 256, 512),
        stage_blocks=(1, 1, 1),
        convs_per_block=2),
    # the last stage's 2x2 max-pooling (8x8 -> 4x4 at 32x32), flattened
    neck=dict(type='PoolFlatten', grid=4, mode='max'),
    head=dict(
        type='StackedLinearClsHead',
        num_classes=10,
        in_channels=512 * 4 * 4,
        mid_channels=[1024, 1024],
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
