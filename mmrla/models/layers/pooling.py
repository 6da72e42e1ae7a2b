"""Average pooling of the recurrent companions' states and feeds."""
import torch
import torch.nn.functional as F


def avg_pool(x, stride):
    """``F.avg_pool2d(x, stride, stride, ceil_mode=True)``: odd sizes pool to
    ``ceil(H / stride)``, the main path's size after a strided conv."""
    return F.avg_pool2d(x, stride, stride, ceil_mode=True)


def _cell_means(length, cells, like):
    """``(cells, length)``: row i averages positions ``floor(i L / n)`` to
    ``ceil((i + 1) L / n) - 1``, adaptive average pooling's cells."""
    pos = torch.arange(length, device=like.device)
    i = torch.arange(cells, device=like.device).unsqueeze(1)
    start = i * length // cells
    end = ((i + 1) * length + cells - 1) // cells
    inside = (pos >= start) & (pos < end)
    return inside.to(like.dtype) / (end - start).to(like.dtype)


def adaptive_avg_pool(x, output_size):
    """``F.adaptive_avg_pool1d`` / ``2d`` (the same cells) over the last
    ``len(output_size)`` dims of ``x``, written as products with averaging
    matrices built from ``x``'s sizes.

    Why not the torch op: ONNX has no adaptive pooling, and the TorchScript
    exporter turns one into a fixed-kernel pool, which needs a fixed input
    size; here the sizes stay symbolic (dynamic batch and image size). A
    global pooling (every output size 1) is a plain mean.
    """
    output_size = tuple(output_size)
    # non-negative dims: the TorchScript exporter mistranslates negative ones
    dims = tuple(range(x.dim() - len(output_size), x.dim()))
    if all(n == 1 for n in output_size):
        return x.mean(dims, keepdim=True)
    last = x.dim() - 1
    for dim, cells in zip(dims, output_size):
        means = _cell_means(x.shape[dim], cells, x)
        # the pooled dim last, one product, then back in its place
        x = (x.transpose(dim, last) @ means.t()).transpose(dim, last)
    return x
