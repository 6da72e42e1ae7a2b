# The RLA-ResNet-50 backbone of mmrla's COCO detectors, as a variable for the detector
# configs (`backbone={{_base_.rla_r50_det_backbone}}`), since their upstream bases
# already define `model`. Stage outputs only (h_readout=False): in detection h goes
# nowhere, as in the paper. Initialised from the converted official ImageNet weights.
rla_r50_det_backbone = dict(
    _delete_=True,
    type='RLAResNet',
    depth=50,
    rla_channels=32,
    h_readout=False,
    out_indices=(0, 1, 2, 3),
    frozen_stages=1,
    norm_cfg=dict(type='BN', requires_grad=True),
    norm_eval=True,
    style='pytorch',
    init_cfg=dict(
        type='Pretrained',
        checkpoint='checkpoints/rla-resnet50_in1k.pth',
        prefix='backbone.'))
