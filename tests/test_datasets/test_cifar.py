"""CIFAR with the held-out split, on small synthetic CIFAR-format files; a short
training run of a CIFAR config on them; the layer-attention plot of its checkpoint."""
import pickle
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO

PER_BATCH = 6  # images per synthetic training batch file (5 files: 30 images)


def write_cifar10(root, per_batch=PER_BATCH, n_test=8):
    """The python-pickle layout of cifar-10-batches-py, with few random images."""
    folder = root / 'cifar-10-batches-py'
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    labels = []

    def dump(name, n, start):
        data = rng.integers(0, 256, (n, 3 * 32 * 32), dtype=np.uint8)
        batch_labels = [(start + i) % 10 for i in range(n)]
        labels.extend(batch_labels)
        with open(folder / name, 'wb') as f:
            pickle.dump({'data': data, 'labels': batch_labels}, f)

    for i in range(5):
        dump(f'data_batch_{i + 1}', per_batch, i * per_batch)
    dump('test_batch', n_test, 0)
    with open(folder / 'batches.meta', 'wb') as f:
        pickle.dump({'label_names': [f'c{i}' for i in range(10)]}, f)
    return labels


def build(**kwargs):
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import DATASETS

    import mmrla  # noqa: F401

    # whatever scope an earlier test in this process left as the default
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return DATASETS.build(dict(type='CIFAR10TrainVal', **kwargs))


def test_train_val_test_subsets(tmp_path):
    labels = write_cifar10(tmp_path)
    kw = dict(data_root=str(tmp_path), holdout=10, verify_md5=False)
    train, val = build(subset='train', **kw), build(subset='val', **kw)
    test, both = build(subset='test', **kw), build(subset='trainval', **kw)
    assert (len(train), len(val), len(test), len(both)) == (20, 10, 8, 30)
    # val is the tail of the training set, disjoint from train
    assert [val[i]['gt_label'] for i in range(10)] == labels[20:30]
    assert [train[i]['gt_label'] for i in range(20)] == labels[:20]
    assert val.test_mode and not train.test_mode


def test_missing_dataset_says_where_to_put_it(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        build(data_root=str(tmp_path / 'cifar10'))
    msg = str(info.value)
    assert 'cifar-10-batches-py' in msg and 'cifar-10-python.tar.gz' in msg
    assert 'nothing is downloaded' in msg


def test_md5_checked_by_default(tmp_path):
    write_cifar10(tmp_path)  # synthetic files have other checksums
    with pytest.raises(FileNotFoundError, match='md5'):
        build(data_root=str(tmp_path))


@pytest.mark.parametrize('kwargs,msg', [
    (dict(subset='dev'), 'invalid subset'),
    (dict(holdout=-1), 'invalid holdout'),
    (dict(download=True), 'download=True is not supported'),
])
def test_bad_arguments(tmp_path, kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        build(data_root=str(tmp_path), **kwargs)


def test_holdout_larger_than_the_training_set(tmp_path):
    write_cifar10(tmp_path)
    with pytest.raises(ValueError, match='holdout=30 leaves no training'):
        build(data_root=str(tmp_path), holdout=30, verify_md5=False)


def test_cifar_config_trains_and_plots_layer_attention(tmp_path):
    write_cifar10(tmp_path / 'cifar10')
    config = REPO / 'configs/rla_attention/rla-attention-resnet20_1xb128_cifar10.py'
    data = [
        f'{loader}.dataset.{key}'
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
        for key in ('data_root=' + str(tmp_path / 'cifar10'),
                    'verify_md5=False', 'holdout=10')
    ] + [
        f'{loader}.{key}'
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
        for key in ('batch_size=5', 'num_workers=0')
    ]
    work = tmp_path / 'work'
    trained = subprocess.run(
        [sys.executable, 'tools/train.py', str(config), '--work-dir',
         str(work), '--cfg-options', *data, 'train_cfg.max_epochs=1',
         'train_cfg.val_interval=1', 'default_hooks.logger.interval=1'],
        capture_output=True, text=True, cwd=REPO)
    assert trained.returncode == 0, trained.stderr[-3000:]
    log = trained.stdout + trained.stderr
    assert 'Epoch(train) [1][4/4]' in log  # 20 training images, batch 5
    assert 'Epoch(val) [1][2/2]' in log and 'accuracy/top1' in log

    out = tmp_path / 'alpha.png'
    plotted = subprocess.run(
        [sys.executable, 'tools/analysis/plot_layer_attention.py',
         str(config), str(work / 'epoch_1.pth'), '--out', str(out),
         '--cfg-options', *data],
        capture_output=True, text=True, cwd=REPO)
    assert plotted.returncode == 0, plotted.stderr[-3000:]
    assert out.stat().st_size > 0
    assert '8 images, 9 blocks' in plotted.stdout  # test split; ResNet-20
    rows = [line.split() for line in plotted.stdout.splitlines()
            if line.strip()[:1].isdigit() and len(line.split()) == 3]
    assert len(rows) == 9
    assert all(0 <= float(mean) <= 1 for _, mean, _ in rows)

    wrong = subprocess.run(
        [sys.executable, 'tools/analysis/plot_layer_attention.py',
         str(REPO / 'configs/crmn/crmn-32-w16_1xb100_cifar10.py'),
         str(work / 'epoch_1.pth'), '--out', str(tmp_path / 'no.png')],
        capture_output=True, text=True, cwd=REPO)
    assert wrong.returncode == 1
    assert 'expected a LayerAttentionResNet' in wrong.stderr
    assert not (tmp_path / 'no.png').exists()
