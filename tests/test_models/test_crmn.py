"""CRMN (its LSTM cell: test_lstm.py)."""
import pytest
import torch

from mmengine.config import Config

from conftest import REPO
from mmrla.models import CRMN, ResNetBody


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def with_head(backbone, classes=100):
    return n_params(backbone) + backbone.feat_dim * classes + classes


@pytest.mark.parametrize('width,ours,paper,resnet_paper', [
    (16, 2_161_956, 2.16, 0.47),
    (24, 3_565_004, 3.56, 1.05),
    (32, 5_199_732, 5.19, 1.86),
    (64, 14_054_676, 14.01, 7.41),
])
def test_parameter_counts_against_the_paper(width, ours, paper, resnet_paper):
    """CRMN Table 1 (CIFAR-100, 32 layers). We use projection shortcuts where the
    width changes; the paper's are parameter-free, which accounts for the whole
    difference (16w*32w + 32w*64w weights, 2.5k to 41k)."""
    kw = dict(stem_type='cifar', stem_channels=width, base_channels=width,
              preact=width >= 64)
    model = CRMN(32, **kw)
    assert with_head(model) == ours
    projections = width * 2 * width + 2 * width * 4 * width
    projections += 2 * width * 2 + 4 * width * 2 if width < 64 else 0  # BNs
    assert abs((ours - projections) / 1e6 - paper) < 0.006
    resnet = with_head(ResNetBody(32, **kw))
    assert abs((resnet - projections) / 1e6 - resnet_paper) < 0.006
    assert model.memory_size == width * 16 * 16  # stage 1, 2x2-pooled


def test_lstm_gate_weights_start_orthogonal():
    """Sec. 4: the LSTM's gate weights use Saxe et al.'s orthogonal init. Per
    gate (i, f, g, o), the recurrent block W_h (M x M) has W_h^T W_h = I and
    the input block W_x (M x N, N = 16 * 16 * 16 here) orthonormal rows."""
    torch.manual_seed(0)
    lstm = CRMN(32, stem_type='cifar').lstm
    m, n = lstm.hidden_size, lstm.input_size
    assert (m, n) == (100, 4096)
    eye = torch.eye(m)
    gates = lstm.linear.weight.detach().view(4, m, n + m)
    for gate in gates:
        w_x, w_h = gate[:, :n], gate[:, n:]
        torch.testing.assert_close(w_h.t() @ w_h, eye, rtol=0, atol=1e-5)
        torch.testing.assert_close(w_x @ w_x.t(), eye, rtol=0, atol=1e-5)
    assert not torch.allclose(gates[0], gates[1])  # drawn per gate


CIFAR_CONFIGS = sorted((REPO / 'configs/crmn').glob('crmn-*cifar*.py'))


@pytest.mark.parametrize('path', CIFAR_CONFIGS, ids=lambda p: p.stem)
def test_configs_follow_the_papers_recipe(path):
    """Sec. 4: batch 100 (50 for 28 layers / 160 maps), padding and random
    crops only (no flips), pixels in [0, 1] minus the mean pixel, momentum
    0.9 and weight decay 1e-4, rate 0.1 lowered on validation plateaus
    (10 % of the training set held out) with the best model reloaded, a
    final run on all training data."""
    cfg = Config.fromfile(str(path))
    wide = 'w160' in path.name
    assert cfg.train_dataloader.batch_size == (50 if wide else 100)
    assert cfg.auto_scale_lr.base_batch_size == (50 if wide else 100)
    train = cfg.train_dataloader.dataset
    assert [t['type'] for t in train.pipeline] == ['RandomCrop', 'PackInputs']
    assert (train.pipeline[0].crop_size, train.pipeline[0].padding) == (32, 4)
    assert train.subset == 'train' and train.get('holdout', 5000) == 5000
    assert cfg.val_dataloader.dataset.subset == 'val'
    assert cfg.test_dataloader.dataset.subset == 'test'
    assert cfg.data_preprocessor.std == [255.0] * 3
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == ('SGD', 0.1,
                                                                 0.9, 1e-4)
    sched = cfg.param_scheduler
    if wide:
        assert sched.type == 'ReduceOnPlateauStepsLR'
        assert sched['values'] == [0.1, 0.01, 0.005, 0.001]
    else:
        assert (sched.type, sched.factor, sched.min_value) == (
            'ReduceOnPlateauLR', 0.1, 0.001)
    assert (sched.monitor, sched.rule) == ('accuracy/top1', 'greater')
    ckpt = cfg.default_hooks.checkpoint
    assert (ckpt.save_best, ckpt.rule) == (sched.monitor, sched.rule)
    hook, = cfg.custom_hooks
    assert hook.type == 'PlateauReloadHook'
    assert hook.final_run.train_dataloader.dataset.holdout == 0
    assert hook.final_run.val_dataloader.dataset.subset == 'test'
    assert cfg.train_cfg.val_interval == 1


@pytest.mark.parametrize('name,blocks,widths,preact,params', [
    ('crmn-56-w48_1xb100_cifar10.py', 9, (48, 96, 192), False, 12_626_882),
    ('crmn-28-w160_1xb50_cifar10.py', 4, (160, 320, 640), True, 52_904_994),
    ('crmn-28-w160_1xb50_cifar100.py', 4, (160, 320, 640), True, 52_971_684),
])
def test_the_papers_cifar10_and_wide_models(name, blocks, widths, preact,
                                             params):
    """Sec. 4.2 / Table 3: 56 layers with 48 first-layer maps (post-activation,
    below 64 maps) and 28 layers with 160 maps (pre-activation, WRN-28-10's
    layout). The paper gives no parameter counts for them; these are ours."""
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(str(REPO / 'configs/crmn' / name))
    model = MODELS.build(cfg.model)
    body = model.backbone
    assert body.preact == preact
    assert [len(getattr(body, n)) for n in body.res_layers] == [blocks] * 3
    assert tuple(getattr(body, n)[-1].out_channels
                 for n in body.res_layers) == widths
    assert body.memory_size == widths[0] * 16 * 16
    assert n_params(model) == params


def test_memory_never_writes_back_and_reads_out():
    torch.manual_seed(0)
    crmn = CRMN(20, stem_type='cifar', lstm_channels=8,
                out_indices=(0, 1, 2)).eval()
    body = ResNetBody(20, stem_type='cifar', out_indices=(0, 1, 2)).eval()
    missing, unexpected = body.load_state_dict(crmn.state_dict(),
                                               strict=False)
    assert not missing and set(unexpected) == {
        'lstm.linear.weight', 'lstm.linear.bias', 'lstm.peep', 'h0'
    }
    x = torch.rand(2, 3, 32, 32)
    outs, ref = crmn(x), body(x)
    torch.testing.assert_close(outs[0], ref[0])
    torch.testing.assert_close(outs[1], ref[1])
    assert outs[2].shape == (2, 64 + 8, 1, 1)
    torch.testing.assert_close(outs[2][:, :64], ref[2].mean((2, 3), True))
    # the final h is the LSTM run over every block output from the learned h0
    h, c = crmn.h0.expand(2, -1), torch.zeros(2, 8)
    feats = []
    y = crmn.forward_stem(x)
    for name in crmn.res_layers:
        for block in getattr(crmn, name):
            y = block(y)
            feats.append(torch.nn.functional.avg_pool2d(y, 2).flatten(1))
    for f in feats:
        f = torch.nn.functional.pad(f, (0, crmn.memory_size - f.shape[1]))
        h, c = crmn.lstm(f, (h, c))
    torch.testing.assert_close(outs[2][:, 64:, 0, 0], h)


def test_readout_feeds_upstream_neck_and_head():
    from mmpretrain.models import ImageClassifier
    model = ImageClassifier(
        backbone=dict(type='CRMN', depth=20, stem_type='cifar',
                      lstm_channels=8),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=72))
    assert model(torch.rand(2, 3, 32, 32), mode='tensor').shape == (2, 10)


def test_2x2_sizes_and_adaptive_mode():
    crmn = CRMN(20, stem_type='cifar', lstm_channels=8).eval()
    assert crmn(torch.rand(1, 3, 24, 30))[0].shape == (1, 72, 1, 1)
    with pytest.raises(ValueError, match="input_size=.*pool='adaptive'"):
        crmn(torch.rand(1, 3, 40, 40))
    big = CRMN(50, pool='adaptive', pool_grid=(2, 2), lstm_channels=8,
               stage_blocks=(1, 1, 1, 1)).eval()
    assert big.memory_size == 2048 * 4
    assert big(torch.rand(1, 3, 97, 131))[0].shape == (1, 2048 + 8, 1, 1)


def test_detection_mode_is_the_body():
    crmn = CRMN(50, h_readout=False, pool='adaptive', out_indices=(0, 1, 2, 3),
                stage_blocks=(1, 1, 1, 1))
    assert crmn.lstm is None
    assert n_params(crmn) == n_params(
        ResNetBody(50, out_indices=(0, 1, 2, 3), stage_blocks=(1, 1, 1, 1)))
    outs = crmn.eval()(torch.rand(1, 3, 64, 80))
    assert [o.shape[1] for o in outs] == [256, 512, 1024, 2048]


def test_frozen_all_stages_freezes_the_memory():
    crmn = CRMN(20, stem_type='cifar', lstm_channels=8, frozen_stages=3)
    crmn.train()
    assert not any(p.requires_grad for p in crmn.parameters())
    crmn = CRMN(20, stem_type='cifar', lstm_channels=8, frozen_stages=2)
    assert crmn.h0.requires_grad and crmn.lstm.linear.weight.requires_grad


@pytest.mark.parametrize('kwargs,arg', [
    (dict(lstm_channels=0), 'lstm_channels'),
    (dict(pool='max'), 'pool'),
    (dict(input_size=(32, )), 'input_size'),
    (dict(pool_grid=(0, 2)), 'pool_grid'),
    (dict(gate_bias='-1'), 'gate_bias'),
    (dict(h_readout=True, out_indices=(0, )), 'out_indices'),
])
def test_bad_arguments_name_the_field(kwargs, arg):
    with pytest.raises(ValueError, match=f'CRMN: invalid {arg}='):
        CRMN(20, stem_type='cifar', **kwargs)
