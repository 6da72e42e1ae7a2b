# Old name of crmn-32-w16_1xb100_cifar10.py (the same config: batch 100), kept while
# tests/test_datasets/test_cifar.py still names it.
_base_ = ['./crmn-32-w16_1xb100_cifar10.py']
