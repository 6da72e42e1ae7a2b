"""Check every mmrla backbone on CUDA: CPU/CUDA agreement, backward, AMP, channels_last.

Usage:
    python tools/analysis/cuda_check.py [--out report.md] [--time]

For each backbone: the same weights on CPU and CUDA in fp32 (TF32 off) must give the
same eval outputs (max |diff| / max |ref| printed, 1e-4 allowed); a CUDA training
step (forward, backward) must give finite gradients for every trainable parameter
that the output depends on; fp16 autocast with a GradScaler and channels_last must run
with finite outputs. ``--time`` adds train-step and inference times of RLA-ResNet-50
and LayerAttentionResNet-50 against the plain ResNet-50 body (batch 32, 224x224,
interleaved, medians of 10 after 3 warm-ups). Exits non-zero on a failed check.
"""
import argparse
import statistics
import sys
import time

import torch

import mmrla  # noqa: F401  (registers the models)
from mmrla.models import CRMN, LayerAttentionResNet, ResNetBody, RLAResNet
from mmrla.utils.fileio import atomic_write, cli_errors, require_writable

CASES = {
    'RLAResNet-50': (lambda: RLAResNet(50), 224),
    'ECA-RLAResNet-50': (lambda: RLAResNet(
        50, attention=dict(type='ECA', kernel_size=[5, 5, 5, 7])), 224),
    'RLAResNet-164 (CIFAR, pre-act)': (lambda: RLAResNet(
        164, stem_type='cifar', preact=True, rla_channels=8), 32),
    'LayerAttentionResNet-50': (lambda: LayerAttentionResNet(50), 224),
    'LayerAttentionResNet-56 vector (CIFAR)': (lambda: LayerAttentionResNet(
        56, stem_type='cifar', lstm_channels=32, reduction=2, vector=True), 32),
    'CRMN-32 (CIFAR)': (lambda: CRMN(32, stem_type='cifar'), 32),
    'CRMN-50 adaptive': (lambda: CRMN(50, pool='adaptive'), 224),
    'ResNetBody-50': (lambda: ResNetBody(50), 224),
}


def check(name, make, size, device):
    torch.manual_seed(0)
    model = make()
    model.init_weights()
    x = torch.rand(4, 3, size, size)
    model.eval()
    with torch.no_grad():
        ref = model(x)[-1]
        out = model.to(device)(x.to(device))[-1].cpu()
    rel = ((out - ref).abs().max() / ref.abs().max()).item()
    rows = {'cpu/cuda rel diff': f'{rel:.1e}'}
    ok = rel < 1e-4

    model.train()
    model.zero_grad()
    model(x.to(device))[-1].float().mean().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    finite = all(g is None or torch.isfinite(g).all() for g in grads)
    reached = sum(g is not None for g in grads)
    rows['grads'] = f'{reached}/{len(grads)} finite' if finite else 'NON-FINITE'
    ok &= finite and reached > 0

    scaler = torch.amp.GradScaler('cuda')
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    model = model.to(memory_format=torch.channels_last)
    xc = x.to(device).contiguous(memory_format=torch.channels_last)
    with torch.autocast('cuda', dtype=torch.float16):
        y = model(xc)[-1]
    scaler.scale(y.float().mean()).backward()
    scaler.step(opt)
    scaler.update()
    amp_ok = bool(torch.isfinite(y).all())
    rows['fp16 autocast + channels_last'] = 'ok' if amp_ok else 'NON-FINITE'
    ok &= amp_ok
    return ok, rows


def timed(fn, device):
    torch.cuda.synchronize(device)
    start = time.perf_counter()
    fn()
    torch.cuda.synchronize(device)
    return time.perf_counter() - start


def timing(device, batch=32, size=224, warmup=3, repeats=10):
    models = {
        'ResNet-50 (body)': ResNetBody(50),
        'RLA-ResNet-50': RLAResNet(50),
        'LayerAttentionResNet-50': LayerAttentionResNet(50),
    }
    x = torch.rand(batch, 3, size, size, device=device)
    steps, infers = {}, {}
    for name, model in models.items():
        model.to(device)
        opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

        def train(model=model, opt=opt):
            model.train()
            opt.zero_grad(set_to_none=True)
            model(x)[-1].mean().backward()
            opt.step()

        def infer(model=model):
            model.eval()
            with torch.no_grad():
                model(x)

        steps[name], infers[name] = train, infer
        for _ in range(warmup):
            train()
            infer()
    results = {name: ([], []) for name in models}
    for _ in range(repeats):  # interleaved: drifts hit every model alike
        for name in models:
            results[name][0].append(timed(steps[name], device))
            results[name][1].append(timed(infers[name], device))
    base = 'ResNet-50 (body)'
    bt = statistics.median(results[base][0])
    bi = statistics.median(results[base][1])
    lines = [
        f'| model (batch {batch}, {size}², fp32) | train step ms | × ResNet-50 '
        '| inference ms | × ResNet-50 |', '|---|---|---|---|---|'
    ]
    for name, (t, i) in results.items():
        mt, mi = statistics.median(t), statistics.median(i)
        lines.append(f'| {name} | {mt * 1e3:.1f} (±{statistics.pstdev(t) * 1e3:.1f}) '
                     f'| {mt / bt:.3f} | {mi * 1e3:.1f} '
                     f'(±{statistics.pstdev(i) * 1e3:.1f}) | {mi / bi:.3f} |')
    return lines


@cli_errors  # an unwritable --out: one line on stderr, exit code 1
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', help='also write the report (Markdown) here')
    parser.add_argument('--time', action='store_true')
    args = parser.parse_args(argv)
    if args.out:
        require_writable(args.out)
    if not torch.cuda.is_available():
        print('error: no CUDA device', file=sys.stderr)
        return 2
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    device = torch.device('cuda')
    lines = [f'CUDA check on {torch.cuda.get_device_name(device)}, torch '
             f'{torch.__version__}', '',
             '| backbone | cpu/cuda rel diff | grads | fp16 autocast + '
             'channels_last |', '|---|---|---|---|']
    failed = []
    for name, (make, size) in CASES.items():
        try:
            ok, rows = check(name, make, size, device)
        except Exception as exc:  # report every backbone, then fail
            ok, rows = False, {'error': f'{type(exc).__name__}: {exc}'}
        if not ok:
            failed.append(name)
        lines.append(f'| {name} | ' + ' | '.join(rows.values()) + ' |')
        print(lines[-1], flush=True)
    if args.time:
        lines += [''] + timing(device)
    report = '\n'.join(lines)
    print(report)
    if args.out:
        with atomic_write(args.out) as f:  # never a half-written report
            f.write(report + '\n')
    if failed:
        print(f'FAILED: {failed}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
