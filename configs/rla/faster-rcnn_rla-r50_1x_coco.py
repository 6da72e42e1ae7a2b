# Faster R-CNN with RLA-ResNet-50 on COCO 2017, the RLA-Net paper's recipe: 12 epochs,
# SGD (momentum 0.9, weight decay 1e-4), lr 0.01 for a total batch of 8 (4 GPUs x 2),
# x0.1 after epochs 8 and 11, shorter side 800 (all from the upstream 1x config but lr).
_base_ = [
    'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    '../_base_/models/rla-resnet50_det.py',
]
custom_imports = dict(imports=['mmrla'], allow_failed_imports=False)

model = dict(backbone={{_base_.rla_r50_det_backbone}})
train_dataloader = dict(batch_size=2)
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))
auto_scale_lr = dict(base_batch_size=8)
