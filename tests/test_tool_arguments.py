"""Bad command-line arguments of the tools: one clear error before any work.

Table-driven, in-process (``main(argv)``): usage errors exit with 2 (argparse), bad
values with 1 and an ``error:`` line naming the argument. Bad *files* given to the
tools are in tests/test_reliability_files.py.
"""
import contextlib
import importlib.util
import io

import pytest

from conftest import REPO

CLS = REPO / 'configs/baselines/resnet32_1xb100_cifar100.py'
DIGITS = REPO / 'configs/rla/rla-resnet18_1xb32_digits.py'

# (tool, argv, exit code, words the error must contain)
TABLE = [
    ('tools/train.py', ['--launcher', 'mpi-ish', DIGITS], 2, 'launcher'),
    ('tools/train.py', [DIGITS, '--cfg-options', 'no-equals-sign'], 2,
     'cfg-options'),
    ('tools/train.py', ['missing.py'], 1, 'config file not found'),
    ('tools/train.py', [DIGITS, '--resume', 'missing.pth'], 1, 'missing.pth'),
    ('tools/test.py', [DIGITS], 2, 'checkpoint'),
    ('tools/test.py', [DIGITS, 'missing.pth'], 1, 'missing.pth'),
    ('tools/analysis/get_flops.py', [CLS, '--shape', '0', '32'], 1,
     '--shape must be positive'),
    ('tools/analysis/get_flops.py', [CLS, '--shape', 'a', 'b'], 2, '--shape'),
    ('tools/analysis/benchmark.py', [CLS, CLS, '--shape', '0', '32'], 1,
     '--shape must be positive'),
    ('tools/analysis/benchmark.py', [CLS, CLS, '--repeats', '0'], 1,
     '--repeats'),
    ('tools/analysis/benchmark.py', [CLS, CLS, '--warmup', '-1'], 1,
     '--warmup'),
    ('tools/analysis/benchmark.py', [CLS, CLS, '--batch', '0'], 1, '--batch'),
    ('tools/analysis/benchmark.py', [CLS, CLS, '--device', 'cuda'], 1,
     'no CUDA'),
    ('tools/analysis/benchmark.py', [CLS], 2, 'baseline'),
    ('tools/analysis/benchmark.py', [CLS, CLS, '--a-options', 'x'], 2,
     '--a-options'),
    ('tools/analysis/get_flops.py', [CLS, '--cfg-options', 'x'], 2,
     '--cfg-options'),
    ('tools/model_converters/rlanet2mmrla.py', ['only-src.pth'], 2, 'dst'),
]


def load_tool(path):
    spec = importlib.util.spec_from_file_location(
        'tool_' + path.replace('/', '_').removesuffix('.py'), REPO / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('tool,argv,code,words', TABLE,
                         ids=[f'{t.split("/")[-1]}:{" ".join(map(str, a))}'
                              for t, a, _, _ in TABLE])
def test_bad_arguments(tool, argv, code, words, tmp_path, monkeypatch):
    import torch
    if 'cuda' in argv and torch.cuda.is_available():
        pytest.skip('this machine has CUDA')
    monkeypatch.chdir(tmp_path)  # nothing may be written: check it below
    # as running the tool does: its folder first (modules beside it)
    monkeypatch.syspath_prepend(str((REPO / tool).parent))
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(
            io.StringIO()):
        try:
            got = load_tool(tool).main([str(a) for a in argv])
        except SystemExit as exc:  # argparse (2) or SystemExit('error: ...')
            if isinstance(exc.code, str):
                err.write(exc.code)
                got = 1
            else:
                got = exc.code
    message = err.getvalue()
    assert got == code, message
    assert words in message, message
    assert 'Traceback' not in message
    assert list(tmp_path.iterdir()) == [], 'a bad argument left output behind'
