"""Export a classifier, or a detector's backbone, to ONNX and check it with onnxruntime.

Usage:
    python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT [--output-file F.onnx]
        [--backbone] [--shape H W] [--batch N] [--exporter {dynamo,torchscript}]
        [--opset-version N] [--tolerance T] [--no-verify] [--cfg-options ...]

The graph reads a batch of preprocessed images, ``input`` of shape
``(batch, 3, height, width)`` (normalised as the config's ``data_preprocessor`` does;
that step is not in the graph), with batch and image size dynamic. Where a backbone's
design holds the image size (its ``image_size_fixed_in_graph``: CRMN with 2x2 pooling,
the Layer-RNN networks) only the batch is dynamic, at ``--shape``, and the tool says
why. Outputs: a classifier's ``cls_score`` (before softmax), or with ``--backbone``
the backbone's outputs ``feat0``, ``feat1``, ... A detector config needs
``--backbone``: whole detectors, with their post-processing, are mmdeploy's job
(docs/get_started.md, "Export to ONNX").

``--exporter``: ``dynamo`` (torch's default, ``torch.export``) or ``torchscript``
(``dynamo=False``, the exporter mmdeploy 1.x drives). Unless ``--no-verify``,
onnxruntime runs the graph on random inputs at two sizes (the traced one and another
batch and image size; two batch sizes where the image size is fixed) and each output
must equal the eager model's to ``--tolerance`` times the output's largest magnitude.
The ``.onnx`` is written only after that check: any error leaves no file. Errors
(bad config, checkpoint, output path or arguments, a failed export or check): one
``error: ...`` line on stderr, exit code 1.
"""
import argparse
import importlib.util
import os.path as osp
import sys
import tempfile

import torch

from mmrla.utils.checkpoint import check_checkpoint_file
from mmrla.utils.fileio import (
    BadFileError,
    atomic_write,
    build_model_from_config,
    cli_errors,
    first_line,
    load_config_file,
    require_writable,
)
from mmrla.utils.launch import CfgOptions

EXPORTERS = ('dynamo', 'torchscript')
# the range a dynamic image side may take in the dynamo exporter's graph
MIN_SIDE, MAX_SIDE = 17, 4096
MAX_BATCH = 1024


class ExportError(BadFileError):
    """An export or its check failed: the output is not written."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--output-file',
                        help='the .onnx to write (default: the config name '
                        'with .onnx, in the current folder)')
    parser.add_argument('--backbone', action='store_true',
                        help="export the model's backbone only (needed for "
                        'detectors)')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help='image size of the traced input (default: 224 224; '
                        'detector backbones 800 1333)')
    parser.add_argument('--batch', type=int, default=1,
                        help='batch of the traced input (default: 1)')
    parser.add_argument('--exporter', choices=EXPORTERS, default='dynamo')
    parser.add_argument('--opset-version', type=int,
                        help="ONNX opset (default: the exporter's)")
    parser.add_argument('--tolerance', type=float, default=1e-4,
                        help='largest allowed |onnxruntime - eager| over the '
                        "output's largest magnitude (default: 1e-4)")
    parser.add_argument('--no-verify', action='store_true',
                        help='skip the onnxruntime check')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptions)
    return parser.parse_args(argv)


def image_size_fixed_in_graph(module):
    """Why a traced graph of ``module`` (a backbone or a model with one) holds
    one image size, or None."""
    backbone = getattr(module, 'backbone', module)
    return getattr(backbone, 'image_size_fixed_in_graph', None)


def flat_outputs(outs):
    """The model's output as a list of tensors."""
    if isinstance(outs, torch.Tensor):
        return [outs]
    flat = []
    for out in outs:
        flat += flat_outputs(out)
    return flat


def output_names(outs):
    return ['cls_score'] if isinstance(outs, torch.Tensor) else [
        f'feat{i}' for i in range(len(flat_outputs(outs)))
    ]


def export_onnx(module, x, path, exporter='dynamo', dynamic_image=True,
                opset_version=None):
    """Export ``module`` (in eval mode) called on ``x`` to ``path``, batch and
    (with ``dynamic_image``) image size dynamic, traced without autograd as
    it is deployed; returns the output names."""
    with torch.no_grad():
        outs = module(x)
        names = output_names(outs)
        if exporter == 'dynamo':
            dims = {0: torch.export.Dim('batch', min=1, max=MAX_BATCH)}
            if dynamic_image:
                dims[2] = torch.export.Dim('height', min=MIN_SIDE,
                                           max=MAX_SIDE)
                dims[3] = torch.export.Dim('width', min=MIN_SIDE,
                                           max=MAX_SIDE)
            torch.onnx.export(module, (x, ), path, dynamo=True,
                              input_names=['input'], output_names=names,
                              dynamic_shapes=(dims, ),
                              opset_version=opset_version,
                              external_data=False, verbose=False)
            return names
        axes = {'input': {0: 'batch'}}
        if dynamic_image:
            axes['input'].update({2: 'height', 3: 'width'})
        for name, out in zip(names, flat_outputs(outs)):
            axes[name] = {0: 'batch'}
            if dynamic_image and out.dim() == 4:
                axes[name].update({2: f'{name}_height', 3: f'{name}_width'})
        torch.onnx.export(module, (x, ), path, dynamo=False,
                          input_names=['input'], output_names=names,
                          dynamic_axes=axes, opset_version=opset_version)
        return names


def check_shapes(batch, height, width, dynamic_image):
    """The input shapes the check runs: the traced one and another batch (and
    image size, an odd one, where it is dynamic)."""
    other = (height + height // 4 + 1, width - width // 4 + 1) \
        if dynamic_image else (height, width)
    return [(batch, 3, height, width), (batch + 1, 3, *other)]


def check_onnx(path, module, shapes, tolerance, seed=0):
    """Run the ONNX graph at ``path`` in onnxruntime on random inputs of
    ``shapes`` and compare every output with ``module``'s.

    Returns:
        list[tuple[tuple, float]]: each shape with its worst output's
        ``max |onnxruntime - eager| / max |eager|``.

    Raises:
        ExportError: an output's shape or values differ (beyond
            ``tolerance``).
    """
    import onnxruntime as ort
    session = ort.InferenceSession(str(path),
                                   providers=['CPUExecutionProvider'])
    generator = torch.Generator().manual_seed(seed)
    results = []
    for shape in shapes:
        x = torch.randn(*shape, generator=generator)
        with torch.no_grad():
            expected = flat_outputs(module(x))
        got = session.run(None, {'input': x.numpy()})
        where = f'batch {shape[0]} at {shape[2]}x{shape[3]}'
        if len(got) != len(expected):
            raise ExportError(f'{path}: {len(got)} outputs in onnxruntime, '
                              f'{len(expected)} in eager ({where})')
        worst = 0.0
        for i, (g, e) in enumerate(zip(got, expected)):
            g = torch.from_numpy(g)
            if g.shape != e.shape:
                raise ExportError(
                    f'{path}: output {i} has shape {tuple(g.shape)} in '
                    f'onnxruntime, {tuple(e.shape)} in eager ({where})')
            scale = e.abs().max().item()
            error = (g - e).abs().max().item() / max(scale, 1e-30)
            if not error <= tolerance:  # NaN fails too
                raise ExportError(
                    f'{path}: output {i} differs from eager by {error:.1e} of '
                    f'its scale {scale:.2g} ({where}; tolerance '
                    f'{tolerance:g})')
            worst = max(worst, error)
        results.append((shape, worst))
    return results


def require_module(name, why):
    if importlib.util.find_spec(name) is None:
        raise BadFileError(f'{why} needs the {name} package: pip install '
                           f'{name}')


def check_args(args):
    fail = BadFileError
    if args.shape is not None and min(args.shape) < MIN_SIDE:
        raise fail(f'--shape must be at least {MIN_SIDE} {MIN_SIDE}, got '
                   f'{args.shape[0]} {args.shape[1]}')
    if args.shape is not None and max(args.shape) > MAX_SIDE:
        raise fail(f'--shape must be at most {MAX_SIDE} {MAX_SIDE}, got '
                   f'{args.shape[0]} {args.shape[1]}')
    if not 1 <= args.batch < MAX_BATCH:
        raise fail(f'--batch must be in 1..{MAX_BATCH - 1}, got {args.batch}')
    if not args.tolerance > 0:
        raise fail(f'--tolerance must be positive, got {args.tolerance}')
    if args.opset_version is not None and args.opset_version < 7:
        raise fail(f'--opset-version must be at least 7, got '
                   f'{args.opset_version}')
    if args.exporter == 'dynamo':
        require_module('onnxscript', 'the dynamo exporter (or use '
                       '--exporter torchscript)')
    if not args.no_verify:
        require_module('onnxruntime', 'the check (or pass --no-verify)')


@cli_errors  # bad input, a failed export or check: one line on stderr, exit 1
def main(argv=None):
    args = parse_args(argv)
    check_args(args)
    out = args.output_file or osp.splitext(osp.basename(
        args.config))[0] + '.onnx'
    if not out.endswith('.onnx'):
        raise BadFileError(f'--output-file {out}: expected a .onnx path')
    require_writable(out)
    cfg = load_config_file(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model, scope = build_model_from_config(cfg, args.config)
    if scope == 'mmdet' and not args.backbone:
        raise BadFileError(
            f'{args.config}: a detector; this tool exports its backbone '
            '(--backbone). Whole detectors with their post-processing: '
            'mmdeploy (docs/get_started.md, "Export to ONNX")')
    if args.backbone and not isinstance(getattr(model, 'backbone', None),
                                        torch.nn.Module):
        raise BadFileError(f'{args.config}: --backbone, but the model '
                           f'({type(model).__name__}) has no backbone')
    # safe loader; another model's checkpoint is refused, naming the keys
    model.load_state_dict(check_checkpoint_file(args.checkpoint, model))
    module = model.backbone if args.backbone else model
    module.eval()
    height, width = args.shape or ((800, 1333) if scope == 'mmdet' else
                                   (224, 224))
    fixed = image_size_fixed_in_graph(module)
    what = type(module).__name__ + (' (backbone)' if args.backbone else '')
    x = torch.randn(args.batch, 3, height, width,
                    generator=torch.Generator().manual_seed(0))
    try:
        with torch.no_grad():
            module(x)
    except ValueError as exc:  # e.g. a size the design refuses, named
        raise BadFileError(f'{args.config}: {what} refuses an input of '
                           f'{height}x{width}: {first_line(exc)}') from exc
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'model.onnx')
        try:
            names = export_onnx(module, x, path, args.exporter,
                                dynamic_image=fixed is None,
                                opset_version=args.opset_version)
        except Exception as exc:  # the exporters raise many types
            raise ExportError(f'the {args.exporter} exporter cannot export '
                              f'{what}: {first_line(exc)}') from exc
        print(f'{args.config}: exported {what} with the {args.exporter} '
              f'exporter: input (batch, 3, '
              + ('height, width)' if fixed is None else
                 f'{height}, {width})') + ' -> ' + ', '.join(names))
        if fixed is not None:
            print(f'image size fixed at {height}x{width} (batch dynamic): '
                  f'{type(getattr(module, "backbone", module)).__name__}: '
                  f'{fixed}')
        if not args.no_verify:
            import onnxruntime
            shapes = check_shapes(args.batch, height, width, fixed is None)
            results = check_onnx(path, module, shapes, args.tolerance)
            print(f'onnxruntime {onnxruntime.__version__} against eager, '
                  'max |difference| / max |eager output|: ' + ', '.join(
                      f'batch {s[0]} at {s[2]}x{s[3]}: {e:.1e}'
                      for s, e in results)
                  + f' (tolerance {args.tolerance:g})')
        with open(path, 'rb') as f:
            data = f.read()
    with atomic_write(out, 'wb') as f:
        f.write(data)
    print(f'wrote {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
