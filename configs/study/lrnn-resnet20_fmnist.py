# Layer-RNN: the baseline's body with an L-RNN (horizontal then vertical bidirectional
# spatial recurrence, V = 0 at the start) replacing the final ReLU of stages 2 and 3
# (16x16x32 and 8x8x64), as the paper inserts L-RNNs at the end of the later stages.
_base_ = ['./resnet20_fmnist.py']
model = dict(
    backbone=dict(_delete_=True, type='LRNNResNet', depth=20, stem_type='cifar',
                  in_channels=1, lrnn_stages=(False, True, True)))
