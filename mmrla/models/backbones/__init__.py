from .rla_resnet import RLABasicBlock, RLABottleneck, RLAResNet

__all__ = ['RLABasicBlock', 'RLABottleneck', 'RLAResNet']
