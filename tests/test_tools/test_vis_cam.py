"""Grad-CAM through mmpretrain's own tools/visualization/vis_cam.py on an RLA-ResNet."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mmengine.config import Config

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / 'configs/rla/rla-resnet18_1xb32_digits.py'


def _vis_cam():
    if importlib.util.find_spec('pytorch_grad_cam') is None:
        pytest.skip('grad-cam is not installed (pip install "grad-cam<1.5": '
                    'mmpretrain 1.2 needs a version before 1.5)')
    spec = importlib.util.find_spec('mmpretrain')
    script = Path(spec.origin).parent / '.mim/tools/visualization/vis_cam.py'
    if not script.is_file():
        pytest.skip(f'mmpretrain ships no vis_cam.py at {script}')
    return script


@pytest.mark.parametrize('layer', ['backbone.layer4', 'backbone.layer4.1'])
def test_grad_cam_on_rla_resnet(layer, digits, tmp_path):
    script = _vis_cam()
    from mmpretrain.registry import MODELS

    import mmrla  # noqa: F401
    cfg = Config.fromfile(str(CONFIG))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    ckpt = tmp_path / 'rla18.pth'
    torch.save({'state_dict': model.state_dict()}, ckpt)
    # a 64x64 input: layer4's map is 2x2, so the CAM has a shape to show
    config = tmp_path / 'rla18_cam.py'
    config.write_text(
        f"_base_ = [{str(CONFIG)!r}]\n"
        "test_pipeline = [dict(type='LoadImageFromFile'),\n"
        "                 dict(type='Resize', scale=(64, 64)),\n"
        "                 dict(type='PackInputs')]\n"
        "test_dataloader = dict(dataset=dict(pipeline=test_pipeline))\n")
    image = next((digits / 'val').rglob('*.png'))
    out = tmp_path / 'cam.png'
    result = subprocess.run(
        [sys.executable, str(script), str(image), str(config), str(ckpt),
         '--target-layers', layer, '--method', 'GradCAM', '--save-path',
         str(out), '--device', 'cpu'],
        capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    import mmcv
    picture = mmcv.imread(str(out))
    assert picture.shape[:2] == (64, 64)
    assert np.isfinite(picture).all() and picture.std() > 0
