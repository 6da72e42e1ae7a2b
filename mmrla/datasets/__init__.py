from .cifar import CIFAR10TrainVal, CIFAR100TrainVal

__all__ = ['CIFAR10TrainVal', 'CIFAR100TrainVal']
