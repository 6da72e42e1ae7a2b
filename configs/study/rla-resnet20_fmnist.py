# RLA-ResNet-20: the baseline's body with recurrent layer aggregation, k = 4 hidden
# channels (our CIFAR BasicBlock setting, configs/rla/README.md); the classifier reads
# concat(x, relu(BN(h))).
_base_ = ['./resnet20_fmnist.py']
model = dict(
    backbone=dict(_delete_=True, type='RLAResNet', depth=20, stem_type='cifar',
                  in_channels=1, rla_channels=4),
    head=dict(in_channels=64 + 4))
