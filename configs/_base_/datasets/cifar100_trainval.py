# CIFAR-100 as CIFAR-10 (cifar10_trainval.py): 45k/5k train/val split, 10k test split,
# batch 128. Put the python version of CIFAR-100 in data/cifar100/cifar-100-python
# (extract cifar-100-python.tar.gz into data/cifar100); nothing is downloaded.
_base_ = ['./cifar10_trainval.py']

data_root = 'data/cifar100/'
dataset = dict(type='CIFAR100TrainVal', data_root=data_root)
data_preprocessor = dict(num_classes=100)
train_dataloader = dict(dataset=dataset)
val_dataloader = dict(dataset=dataset)
test_dataloader = dict(dataset=dataset)
val_evaluator = dict(topk=(1, 5))
test_evaluator = val_evaluator
