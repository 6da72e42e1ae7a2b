"""Parameters and operations in the units of the RLA-Net paper.

The RLA-Net authors counted with an old thop release, which is not the standard
multiply-add count: conv / conv1d / linear multiply-adds, plus 2 x the input elements
of every BatchNorm, plus the output elements of every average pooling, plus
``(kernel + 1)`` x the output elements of every adaptive average pooling; ReLU,
max-pooling, additions, sigmoid and tanh count nothing. Their "M" divides by 2^20 and
their "G" by 2^30 (thop's ``clever_format`` of that time). See
``../shared/reference/rlanet_official_layout.json`` (``notes``, ``thop_legacy_ops``).

:func:`paper_ops` counts these operations by intercepting the functional calls
(``F.conv2d``, ``F.batch_norm``, ``F.avg_pool2d``, ...), so functional pooling inside a
forward (e.g. RLA's pooled hidden state) is counted like a pooling module. thop only
saw modules: where an official model pools functionally (RLA-MobileNetV2's global
pooling) the paper's figure lacks that pooling, and ``skip`` reproduces it.
"""
import math
from collections import Counter

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

PAPER_M = 2**20
PAPER_G = 2**30


def _out_numel(out):
    return out.numel() if isinstance(out, torch.Tensor) else out[0].numel()


class _PaperOpCounter(TorchFunctionMode):

    def __init__(self):
        super().__init__()
        self.counts = Counter()
        self.skipping = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if self.skipping:
            return out
        if func in (F.conv1d, F.conv2d, F.conv3d, torch.conv1d, torch.conv2d,
                    torch.conv3d):
            weight = args[1] if len(args) > 1 else kwargs['weight']
            self.counts['conv'] += out.numel() * math.prod(weight.shape[1:])
        elif func is F.linear:
            weight = args[1] if len(args) > 1 else kwargs['weight']
            self.counts['linear'] += out.numel() * weight.shape[1]
        elif func is F.batch_norm:
            self.counts['batch_norm'] += 2 * args[0].numel()
        elif func in (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d):
            self.counts['avg_pool'] += _out_numel(out)
        elif func in (F.adaptive_avg_pool1d, F.adaptive_avg_pool2d):
            inp = args[0]
            dims = out.dim() - 2
            kernel = math.prod(i // o for i, o in zip(inp.shape[-dims:],
                                                      out.shape[-dims:]))
            self.counts['adaptive_avg_pool'] += (kernel + 1) * out.numel()
        return out


def paper_ops(model, *inputs, skip=(), **kwargs):
    """Run ``model(*inputs, **kwargs)`` under no_grad and count the paper's operations.

    Operations inside the modules in ``skip`` are not counted. Returns a ``Counter``
    by kind (``conv``, ``linear``, ``batch_norm``, ``avg_pool``,
    ``adaptive_avg_pool``); ``sum(counts.values())`` is the total.
    """
    counter = _PaperOpCounter()

    def enter(*_):
        counter.skipping += 1

    def leave(*_):
        counter.skipping -= 1

    handles = []
    for module in skip:
        handles += [module.register_forward_pre_hook(enter),
                    module.register_forward_hook(leave)]
    try:
        with torch.no_grad(), counter:
            model(*inputs, **kwargs)
    finally:
        for handle in handles:
            handle.remove()
    return counter.counts


def count_params(model):
    return sum(p.numel() for p in model.parameters())


def paper_units(params, ops):
    """The paper's "M" parameters and "G" operations:
    ``(params / 2^20, ops / 2^30)``."""
    return params / PAPER_M, ops / PAPER_G
