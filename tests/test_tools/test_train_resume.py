"""tools/train.py and tools/test.py on the offline digits set; resume under torch's
safe loader; the digits converter."""
import subprocess
import sys

from conftest import REPO

CONFIG = REPO / 'configs/rla/rla-resnet18_1xb32_digits.py'
PY = sys.executable


def run(*args, cwd=REPO):
    return subprocess.run([PY, *map(str, args)], capture_output=True,
                          text=True, cwd=cwd)


def test_digits_converter_is_complete_and_idempotent(digits):
    train = sorted(digits.glob('train/*/*.png'))
    val = sorted(digits.glob('val/*/*.png'))
    assert (len(train), len(val)) == (1437, 360)
    assert sorted(p.name for p in digits.glob('train/*')) == [
        str(d) for d in range(10)]
    # no image in both splits
    assert not {p.name for p in train} & {p.name for p in val}
    result = run(REPO / 'tools/dataset_converters/digits2folder.py', digits)
    assert result.returncode == 0 and 'already complete' in result.stdout


def small_run_options(digits, epochs):
    return [
        '--cfg-options', f'train_dataloader.dataset.data_root={digits}',
        f'val_dataloader.dataset.data_root={digits}',
        f'test_dataloader.dataset.data_root={digits}',
        'train_dataloader.dataset.indices=64',
        'val_dataloader.dataset.indices=32',
        'test_dataloader.dataset.indices=32', f'train_cfg.max_epochs={epochs}',
        'train_cfg.val_interval=1', 'default_hooks.checkpoint.interval=1',
        'default_hooks.checkpoint.max_keep_ckpts=3',
        'default_hooks.logger.interval=1'
    ]


def test_train_resume_and_test(digits, tmp_path):
    work = tmp_path / 'work'
    first = run(REPO / 'tools/train.py', CONFIG, '--work-dir', work,
                *small_run_options(digits, 1))
    assert first.returncode == 0, first.stderr[-3000:]
    ckpt = work / 'epoch_1.pth'
    assert ckpt.is_file()

    # Without mmrla's allow-list, torch's default safe loader refuses a Runner
    # checkpoint; with it, the same default loader accepts it.
    probe = 'import torch, sys; torch.load(sys.argv[1])'
    bare = run('-c', probe, ckpt)
    assert bare.returncode != 0 and 'weights_only' in bare.stderr
    allowed = run('-c', 'import mmrla; ' + probe, ckpt)
    assert allowed.returncode == 0, allowed.stderr

    second = run(REPO / 'tools/train.py', CONFIG, '--work-dir', work,
                 '--resume', *small_run_options(digits, 2))
    assert second.returncode == 0, second.stderr[-3000:]
    log = second.stdout + second.stderr
    assert 'resumed epoch: 1' in log
    assert (work / 'epoch_2.pth').is_file()

    tested = run(REPO / 'tools/test.py', CONFIG, work / 'epoch_2.pth',
                 '--work-dir', tmp_path / 'test', '--out',
                 tmp_path / 'preds.pkl', *small_run_options(digits, 2))
    assert tested.returncode == 0, tested.stderr[-3000:]
    assert 'accuracy/top1' in tested.stdout + tested.stderr
    assert (tmp_path / 'preds.pkl').is_file()


def test_tools_name_missing_files(tmp_path):
    missing = run(REPO / 'tools/train.py', tmp_path / 'nope.py')
    assert missing.returncode != 0 and 'nope.py' in missing.stderr
    no_ckpt = run(REPO / 'tools/test.py', CONFIG, tmp_path / 'none.pth')
    assert no_ckpt.returncode != 0
    assert 'checkpoint file not found' in no_ckpt.stderr
