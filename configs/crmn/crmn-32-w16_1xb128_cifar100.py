# Old name of crmn-32-w16_1xb100_cifar100.py (the same config: batch 100), kept while
# configs/baselines/resnet32_1xb128_cifar100.py, docs/benchmark.md and
# tests/test_tools/test_benchmark.py still name it.
_base_ = ['./crmn-32-w16_1xb100_cifar100.py']
