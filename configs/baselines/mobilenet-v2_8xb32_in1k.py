# mmpretrain's MobileNetV2 as it is: the baseline of RLA-MobileNetV2 for
# tools/analysis/benchmark.py and get_flops.py.
_base_ = ['mmpretrain::mobilenet_v2/mobilenet-v2_8xb32_in1k.py']
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)
