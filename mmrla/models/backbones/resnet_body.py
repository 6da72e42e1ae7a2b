"""One ResNet body for every recurrent companion along depth.

mmpretrain's :class:`ResNet` (stem, ``ResLayer``, ``BasicBlock``, the ResNeXt
``Bottleneck``) with what the recurrence-along-depth papers need and upstream lacks:

- blocks split into residual branch and shortcut (``forward_parts`` / ``merge``), so a
  companion can feed extra channels into the branch (RLA-Net), scale it (layer
  attention) or read the block output (CRMN) without a forked block;
- He et al.'s CIFAR body: 3x3 stem, no max-pool, three stages of 16w, 32w, 64w;
- pre-activation blocks (He et al., ECCV 2016) with a final BN-ReLU;
- per-stage block counts, ResNeXt groups, and channel attention (ECA, SE) on every
  residual branch, composed in by one factory.

Subclasses add a companion through the hooks of :mod:`.companion` (whose
``forward`` runs the stages) and ``extra_block_kwargs``. Every stage and block
still runs through its module call (``layerN(x, walk)``, ``block(x, walk)``), so
forward and backward hooks see the feature maps as on upstream ``ResNet``; the
companion's state travels alongside.
"""
import os.path as osp

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from torch.nn.modules.batchnorm import _BatchNorm

from mmcv.cnn import build_conv_layer, build_norm_layer
from mmcv.cnn.bricks import DropPath
from mmengine.model.weight_init import constant_init
from mmpretrain.models.backbones.resnet import (
    BasicBlock,
    ResLayer,
    ResNet,
    get_expansion,
)
from mmpretrain.models.backbones.resnext import Bottleneck as _Bottleneck

from mmrla.registry import register_model

from ..layers import build_channel_attention, stage_attention_cfgs
from ..utils import (
    check_common_args,
    check_flags,
    check_positive_ints,
    check_stage_args,
    freeze,
    invalid_arg,
    is_int,
)
from .companion import CompanionBlock, CompanionHooks, CompanionStage

# upstream ResNet arguments that reach it through **kwargs, checked up front
COMMON_ARGS = ('in_channels', 'avg_down', 'conv_cfg', 'norm_cfg', 'norm_eval',
               'with_cp', 'deep_stem', 'init_cfg', 'drop_path_rate')


class CompanionResLayer(CompanionStage, ResLayer):
    """mmpretrain's ``ResLayer`` whose call takes the companion's walk."""


def conv_xh(conv, x, h):
    """``conv(concat(x, h))``: the first conv of a block that also reads the
    companion's state ``h`` (None: the block reads ``x`` alone)."""
    if h is None:
        return conv(x)
    return conv(torch.cat([x, h], dim=1))


class SplitBlockMixin(CompanionBlock):
    """A residual block that exposes its residual branch and its shortcut.

    ``forward_parts(x, h)`` returns ``(branch, identity)``; ``h``, if given, is
    concatenated to the block's input (``extra_in_channels`` channels) in front of
    the first conv and never reaches the shortcut. An optional channel attention
    scales the branch after its last layer. ``merge`` adds the two (ReLU after the
    addition for post-activation blocks, none for pre-activation ones).

    Called as a module, ``block(x)`` is the plain block; ``block(x, walk)``
    lets a recurrent companion run it (:class:`CompanionBlock`).
    """
    preact = False

    def _init_split(self, extra_in_channels, attention):
        self.extra_in_channels = extra_in_channels
        self.attn = build_channel_attention(attention, self.out_channels)

    def _parts(self, x, h, mid_act=None):
        """``(branch, identity)`` before the channel attention; ``mid_act``
        (default ReLU) is the activation after the branch's 3x3 conv."""
        raise NotImplementedError

    def forward_parts(self, x, h=None, mid_act=None):
        """``(branch, identity)``, the branch after the channel attention;
        ``mid_act`` replaces the ReLU after the branch's 3x3 conv (an
        inserted L-RNN)."""

        def parts(x, h):
            branch, identity = self._parts(x, h, mid_act)
            if self.attn is not None:
                branch = self.attn(branch)
            return branch, identity

        needs_grad = x.requires_grad or (h is not None and h.requires_grad)
        if self.with_cp and needs_grad:
            return cp.checkpoint(parts, x, h, use_reentrant=False)
        return parts(x, h)

    def forward_residual(self, x, h=None):
        """The block's output, ``merge(*forward_parts(x, h))``."""
        return self.merge(*self.forward_parts(x, h), inplace=True)

    def merge(self, branch, identity, scale=None, inplace=False):
        """``relu(drop_path(scale * branch) + identity)`` (no ReLU for
        pre-activation blocks); ``scale`` (layer attention's alpha) broadcasts
        to the branch. ``inplace=True`` adds into ``branch``, as upstream blocks
        do, when the caller no longer needs it."""
        if scale is not None:
            branch, inplace = branch * scale, True
        branch = self.drop_path(branch)
        out = branch.add_(identity) if inplace else branch + identity
        return out if self.preact else self.relu(out)

    def forward_plain(self, x):
        return self.forward_residual(x)


class SplitBasicBlock(SplitBlockMixin, BasicBlock):
    """mmpretrain's BasicBlock, split; conv1 reads ``concat(x, h)``."""

    def __init__(self, in_channels, out_channels, extra_in_channels=0,
                 attention=None, **kwargs):
        super().__init__(in_channels + extra_in_channels, out_channels,
                         **kwargs)
        self.in_channels = in_channels
        self._init_split(extra_in_channels, attention)

    def _parts(self, x, h, mid_act=None):
        out = (mid_act or self.relu)(self.norm1(conv_xh(self.conv1, x, h)))
        branch = self.norm2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return branch, identity


class SplitBottleneck(SplitBlockMixin, _Bottleneck):
    """mmpretrain's (ResNeXt-capable) Bottleneck, split; conv1 reads
    ``concat(x, h)``."""

    def __init__(self, in_channels, out_channels, extra_in_channels=0,
                 attention=None, groups=1, width_per_group=4, **kwargs):
        super().__init__(
            in_channels + extra_in_channels,
            out_channels,
            groups=groups,
            width_per_group=width_per_group,
            **kwargs)
        self.in_channels = in_channels
        self._init_split(extra_in_channels, attention)

    def _parts(self, x, h, mid_act=None):
        out = self.relu(self.norm1(conv_xh(self.conv1, x, h)))
        out = (mid_act or self.relu)(self.norm2(self.conv2(out)))
        branch = self.norm3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return branch, identity


class _PreActBlock(SplitBlockMixin, nn.Module):
    """Shared construction of the pre-activation blocks: ``a = relu(norm1(x))``
    feeds the branch (with ``h`` concatenated after the activation, as h enters
    post-activation blocks un-normalised) and a projection shortcut, which is a bare
    conv (ResLayer's trailing norm is dropped: the branch output is not normalised
    either). Subclasses build ``_make_branch()`` and ``_branch(a, h, mid_act)``;
    the arguments are ResLayer's."""
    preact = True

    def __init__(self, in_channels, out_channels, expansion=None, stride=1,
                 dilation=1, downsample=None, style='pytorch', with_cp=False,
                 conv_cfg=None, norm_cfg=dict(type='BN'), drop_path_rate=0.0,
                 extra_in_channels=0, attention=None):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.mid_channels = out_channels // self.expansion
        self.stride = stride
        self.dilation = dilation
        self.with_cp = with_cp
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.norm1 = build_norm_layer(norm_cfg, in_channels)[1]
        self.relu = nn.ReLU(inplace=True)
        if downsample is not None and isinstance(
                downsample[-1], (_BatchNorm, nn.GroupNorm, nn.LayerNorm)):
            downsample = downsample[:-1]
        self.downsample = downsample
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 1e-5 \
            else nn.Identity()
        self._init_split(extra_in_channels, attention)
        self._make_branch(in_channels + extra_in_channels)

    @property
    def last_layer(self):
        """The branch's last layer (zeroed by ``zero_init_residual``)."""
        return getattr(self, self.last_layer_name)

    def _conv(self, cin, cout, k, stride=1, dilation=1):
        pad = dilation * (k - 1) // 2
        return build_conv_layer(self.conv_cfg, cin, cout, k, stride=stride,
                                padding=pad, dilation=dilation, bias=False)

    def _norm(self, channels):
        return build_norm_layer(self.norm_cfg, channels)[1]

    def _parts(self, x, h, mid_act=None):
        a = self.relu(self.norm1(x))
        identity = x if self.downsample is None else self.downsample(a)
        return self._branch(a, h, mid_act or self.relu), identity


class PreActBasicBlock(_PreActBlock):
    """Pre-activation BasicBlock: BN-ReLU-conv3x3-BN-ReLU-conv3x3."""
    expansion = 1
    last_layer_name = 'conv2'

    def _make_branch(self, in_channels):
        self.conv1 = self._conv(in_channels, self.out_channels, 3,
                                self.stride, self.dilation)
        self.norm2 = self._norm(self.out_channels)
        self.conv2 = self._conv(self.out_channels, self.out_channels, 3)

    def _branch(self, a, h, mid_act):
        return self.conv2(mid_act(self.norm2(conv_xh(self.conv1, a, h))))


class PreActBottleneck(_PreActBlock):
    """Pre-activation Bottleneck: BN-ReLU-conv1x1-BN-ReLU-conv3x3-BN-ReLU-conv1x1
    (stride on the 3x3)."""
    expansion = 4
    last_layer_name = 'conv3'

    def _make_branch(self, in_channels):
        mid = self.mid_channels
        self.conv1 = self._conv(in_channels, mid, 1)
        self.norm2 = self._norm(mid)
        self.conv2 = self._conv(mid, mid, 3, self.stride, self.dilation)
        self.norm3 = self._norm(mid)
        self.conv3 = self._conv(mid, self.out_channels, 1)

    def _branch(self, a, h, mid_act):
        out = self.relu(self.norm2(conv_xh(self.conv1, a, h)))
        out = mid_act(self.norm3(self.conv2(out)))
        return self.conv3(out)


@register_model
class ResNetBody(CompanionHooks, ResNet):
    """The ResNet body that every mmrla backbone shares; on its own, the plain
    baseline (no companion) with the same options.

    Arguments not listed are mmpretrain :class:`ResNet`'s, with its defaults for
    ``stem_type='imagenet'``. With ``stem_type='cifar'`` the defaults become He et
    al.'s CIFAR network: ``num_stages=3``, ``strides=(1, 2, 2)``,
    ``stem_channels=base_channels=16 * widen_factor``, ``out_indices=(2, )``.

    Args:
        depth (int): ImageNet stem: 18, 34 (BasicBlock), 50, 101, 152
            (Bottleneck). CIFAR stem: 20, 32, 44, 56, 62, 110, 1202 (BasicBlock,
            6n+2), 164, 1001 (Bottleneck, 9n+2), and 28 (BasicBlock, 4 per stage:
            wide-ResNet counting, WRN-28-w).
        stem_type (str): ``'imagenet'`` (7x7/2 conv and max-pool, or
            ``deep_stem``) or ``'cifar'`` (3x3/1 conv, no pooling).
        preact (bool): pre-activation blocks, and a BN-ReLU after the last stage.
            The CIFAR pre-activation stem is a bare conv.
        widen_factor (int): w, CIFAR stem only: stage widths 16w, 32w, 64w.
        stage_blocks (Sequence[int] | None): blocks per stage, overriding the
            depth's default.
        groups (int): groups of the Bottleneck 3x3 conv (ResNeXt). Default: 1.
        width_per_group (int): width per group (ResNeXt). Default: 4.
        attention (dict | None): channel attention on every residual branch:
            ``dict(type='ECA', kernel_size=K)`` with K an odd int, a list of one
            odd int per stage, or ``'adaptive'`` (ECA-Net's rule from the stage's
            channels); ``dict(type='SE', ratio=16)`` (mmpretrain's SELayer).
        zero_init_residual (bool): start every residual branch at zero (the
            last norm's weight, or the pre-activation branch's last conv, set to
            0; Goyal et al. 2017). Default: False, unlike upstream ``ResNet``:
            the papers initialise as He et al. (2015), and a zero branch leaves
            every companion that scales or gates it (layer attention, ECA) with
            exactly zero gradient at the start.
    """

    imagenet_arch = {
        18: ('basic', (2, 2, 2, 2)),
        34: ('basic', (3, 4, 6, 3)),
        50: ('bottleneck', (3, 4, 6, 3)),
        101: ('bottleneck', (3, 4, 23, 3)),
        152: ('bottleneck', (3, 8, 36, 3)),
    }
    cifar_arch = {
        20: ('basic', (3, 3, 3)),
        28: ('basic', (4, 4, 4)),
        32: ('basic', (5, 5, 5)),
        44: ('basic', (7, 7, 7)),
        56: ('basic', (9, 9, 9)),
        62: ('basic', (10, 10, 10)),
        110: ('basic', (18, 18, 18)),
        1202: ('basic', (200, 200, 200)),
        164: ('bottleneck', (18, 18, 18)),
        1001: ('bottleneck', (111, 111, 111)),
    }
    block_types = {
        ('basic', False): SplitBasicBlock,
        ('bottleneck', False): SplitBottleneck,
        ('basic', True): PreActBasicBlock,
        ('bottleneck', True): PreActBottleneck,
    }

    def __init__(self,
                 depth,
                 stem_type='imagenet',
                 preact=False,
                 widen_factor=1,
                 stage_blocks=None,
                 groups=1, width_per_group=4,  # ResNeXt
                 attention=None,
                 frozen_stages=-1,
                 zero_init_residual=False,
                 **kwargs):
        if stem_type not in ('imagenet', 'cifar'):
            self._fail('stem_type', stem_type, "'imagenet' or 'cifar'")
        cifar = stem_type == 'cifar'
        archs = self.cifar_arch if cifar else self.imagenet_arch
        if depth not in archs:
            self._fail('depth', depth,
                       f'one of {sorted(archs)} for stem_type={stem_type!r}')
        check_flags(self, preact=preact)
        if not is_int(widen_factor) or widen_factor < 1 or (
                not cifar and widen_factor != 1):
            self._fail('widen_factor', widen_factor,
                       "a positive int (other than 1 only with stem_type='cifar')")
        check_common_args(
            self, zero_init_residual=zero_init_residual,
            **{k: v for k, v in kwargs.items() if k in COMMON_ARGS})
        expansion = kwargs.get('expansion')
        if expansion is not None and (not is_int(expansion) or expansion < 1):
            self._fail('expansion', expansion, 'None or a positive int')
        if cifar and kwargs.get('deep_stem'):
            self._fail('deep_stem', kwargs['deep_stem'],
                       "False with stem_type='cifar' (it has its own 3x3 stem)")
        # upstream ResNet's arguments, with the defaults of this stem (passed on)
        num_stages = kwargs.setdefault('num_stages', 3 if cifar else 4)
        if not is_int(num_stages) or not 1 <= num_stages <= 4:
            self._fail('num_stages', num_stages, 'an int in 1..4')
        width = 16 * widen_factor if cifar else 64
        kwargs.setdefault('strides', (1, 2, 2, 2)[:num_stages])
        kwargs.setdefault('dilations', (1, ) * num_stages)
        kwargs.setdefault('stem_channels', width)
        base_channels = kwargs.setdefault('base_channels', width)
        out_indices = kwargs.setdefault('out_indices', (num_stages - 1, ))
        kind, default_blocks = archs[depth]
        check_stage_args(self, num_stages, out_indices, frozen_stages,
                         strides=kwargs['strides'],
                         dilations=kwargs['dilations'],
                         stage_blocks=stage_blocks or (1, ) * num_stages)
        # (stage_blocks=None: the depth's counts, checked against num_stages below)
        check_positive_ints(self, stem_channels=kwargs['stem_channels'],
                            base_channels=base_channels, groups=groups,
                            width_per_group=width_per_group)
        if kwargs.get('style', 'pytorch') not in ('pytorch', 'caffe'):
            self._fail('style', kwargs['style'], "'pytorch' or 'caffe'")
        if groups != 1 and (kind == 'basic' or preact):
            self._fail('groups', groups,
                       '1 here (ResNeXt groups need post-activation '
                       'Bottleneck blocks)')
        block = self.block_types[(kind, preact)]
        stage_blocks = tuple(stage_blocks or default_blocks[:num_stages])
        if len(stage_blocks) != num_stages:
            self._fail('num_stages', num_stages,
                       f'at most {len(default_blocks)} for depth {depth}, or '
                       'stage_blocks with one count per stage')
        self.stem_type = stem_type
        self.preact = preact
        self.widen_factor = widen_factor
        self._stage_attention_cfgs = stage_attention_cfgs(
            self, attention, [base_channels * get_expansion(block) * 2**i
                              for i in range(num_stages)])
        self._split_kwargs = {}
        if kind == 'bottleneck' and not preact:
            self._split_kwargs = dict(
                groups=groups, width_per_group=width_per_group)
        # ResNet.__init__ reads block and counts from arch_settings; an instance
        # attribute overrides them for this model only.
        self.arch_settings = {depth: (block, stage_blocks)}
        super().__init__(
            depth,
            frozen_stages=-1,  # frozen below, once the companion exists
            zero_init_residual=zero_init_residual,
            **kwargs)
        self.frozen_stages = frozen_stages
        if preact:
            self.final_norm = build_norm_layer(self.norm_cfg,
                                               self.feat_dim)[1]
        self.attach_companion(self.res_layers)

    # ---- construction -------------------------------------------------------------
    def _fail(self, arg, value, allowed):
        invalid_arg(self, arg, value, allowed)

    def _check_readout(self, h_readout):
        """A companion whose state joins the last stage output needs that stage."""
        if h_readout and self.num_stages - 1 not in self.out_indices:
            self._fail(
                'out_indices', self.out_indices,
                f'to include the last stage {self.num_stages - 1} when '
                'h_readout=True (the state joins the last stage output); '
                'set h_readout=False for detection')

    def extra_block_kwargs(self, stage):
        """Block arguments a companion adds (e.g. ``extra_in_channels``)."""
        return {}

    def make_res_layer(self, **kwargs):
        stage = len(self.res_layers)
        kwargs.update(self._split_kwargs)
        kwargs.update(self.extra_block_kwargs(stage))
        kwargs['attention'] = self._stage_attention_cfgs[stage]
        return CompanionResLayer(**kwargs)

    def _make_stem_layer(self, in_channels, stem_channels):
        if self.stem_type == 'imagenet':
            return super()._make_stem_layer(in_channels, stem_channels)
        self.conv1 = build_conv_layer(
            self.conv_cfg, in_channels, stem_channels, kernel_size=3,
            stride=1, padding=1, bias=False)
        self.relu = nn.ReLU(inplace=True)
        self.norm1_name = None
        if not self.preact:  # pre-activation blocks normalise their input
            self.norm1_name, norm1 = build_norm_layer(
                self.norm_cfg, stem_channels, postfix=1)
            self.add_module(self.norm1_name, norm1)

    def missing_checkpoint_hint(self, path):
        """How a user makes the ``init_cfg`` checkpoint that is missing."""
        return (f'Train the matching ImageNet config and save its checkpoint '
                f'as {path} (no official {type(self).__name__} weights exist)')

    def _stem_modules(self):
        if self.deep_stem:
            return [self.stem]
        return [self.conv1] + ([self.norm1] if self.norm1_name else [])

    def _freeze_stages(self):
        frozen = []
        if self.frozen_stages >= 0:
            frozen += self._stem_modules()
        for i in range(1, self.frozen_stages + 1):
            frozen += [getattr(self, f'layer{i}')] + self.companion_modules(i)
        if self.frozen_stages == self.num_stages and self.preact:
            frozen.append(self.final_norm)
        freeze(frozen)

    def init_weights(self):
        cfg = self.init_cfg
        pretrained = isinstance(cfg, dict) and cfg.get('type') == 'Pretrained'
        if pretrained:
            path = cfg.get('checkpoint')
            # Fail before training starts, and say how to make the file.
            if (isinstance(path, str) and '://' not in path
                    and not osp.isfile(path)):
                raise FileNotFoundError(
                    f'{type(self).__name__}: init_cfg checkpoint not found: '
                    f'{path}. {self.missing_checkpoint_hint(path)}, or set '
                    'model.backbone.init_cfg=None to train from scratch.')
        super().init_weights()
        if self.zero_init_residual and self.preact and not pretrained:
            # the pre-activation branch ends in a conv, not a norm
            for m in self.modules():
                if isinstance(m, _PreActBlock):
                    constant_init(m.last_layer, 0)

    def train(self, mode=True):
        super().train(mode)
        return self  # upstream ResNet.train returns None; nn.Module's returns self

    # ---- forward (CompanionHooks.forward runs the stages) ---------------------------
    def forward_stem(self, x):
        if self.deep_stem:
            return self.maxpool(self.stem(x))
        x = self.conv1(x)
        if self.norm1_name is not None:
            x = self.relu(self.norm1(x))
        return self.maxpool(x) if self.stem_type == 'imagenet' else x

    def stage_output(self, stage, x, state):
        if self.preact and stage == self.num_stages - 1:
            # pre-activation blocks end un-normalised: the body's final BN-ReLU
            x = self.relu(self.final_norm(x))
        return x
