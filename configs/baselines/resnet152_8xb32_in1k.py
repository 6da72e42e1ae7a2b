# The plain upstream ResNet-152 classifier (mmpretrain's config but its init): the
# baseline that tools/analysis/benchmark.py and get_flops.py compare RLA-ResNet-152
# with.
_base_ = ['mmpretrain::resnet/resnet152_8xb32_in1k.py']
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)
# He et al.'s initialisation, as the papers train their networks and baselines: no
# zero-initialised residual branches (mmpretrain's ResNet defaults to them).
model = dict(backbone=dict(zero_init_residual=False))
