# CRMN on He et al.'s CIFAR ResNet-32 body (first-layer width 16, post-activation): a
# 100-unit peephole LSTM reads every block output (2x2 mean-pooled, flattened,
# zero-padded to the stage-1 length); concat(GAP(x), h) feeds the classifier.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='CRMN',
        depth=32,
        stem_type='cifar',
        preact=False,
        lstm_channels=100,
        pool='2x2',
        input_size=(32, 32)),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=64 + 100,  # concat(GAP(x), h)
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
