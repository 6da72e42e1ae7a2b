# mmdet's Faster R-CNN ResNet-50 FPN 1x, the baseline of RLA's detectors in
# tools/analysis/benchmark.py and get_flops.py. Same recipe as
# configs/rla/faster-rcnn_rla-r50_1x_coco.py (lr 0.01 for batch 8); the backbone starts
# from a local ImageNet checkpoint instead of a download (mmpretrain's
# resnet50_8xb32_in1k, saved as checkpoints/resnet50_8xb32_in1k.pth).
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py']
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/resnet50_8xb32_in1k.pth',
            prefix='backbone.')))
train_dataloader = dict(batch_size=2)
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))
auto_scale_lr = dict(base_batch_size=8)
