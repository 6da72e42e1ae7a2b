"""CIFAR with the papers' held-out split, and no download at run time.

He et al. (and RLA-Net) train on 45k images and validate on the other 5k of the CIFAR
training set; the test set is the 10k test split. mmpretrain's CIFAR datasets know
only "train" and "test" and download when files are missing; these refuse to, and say
where the files belong.
"""
import os.path as osp

from mmpretrain.datasets import CIFAR10, CIFAR100
from mmpretrain.registry import DATASETS


class TrainValSplitMixin:
    """``subset``: ``'train'`` (the first ``len - holdout`` training images),
    ``'val'`` (the last ``holdout``), ``'test'`` (the test split), ``'trainval'``
    (all 50k training images)."""
    subsets = ('train', 'val', 'trainval', 'test')

    def __init__(self, data_root='', subset='train', holdout=5000,
                 verify_md5=True, **kwargs):
        name = type(self).__name__
        if subset not in self.subsets:
            raise ValueError(f'{name}: invalid subset={subset!r}; expected '
                             f'one of {self.subsets}')
        if not isinstance(holdout, int) or holdout < 0:
            raise ValueError(f'{name}: invalid holdout={holdout!r}; expected '
                             'a non-negative int')
        if kwargs.pop('download', False):
            raise ValueError(f'{name}: download=True is not supported; put '
                             'the files in place (see the error without it)')
        self.subset = subset
        self.holdout = holdout
        self.verify_md5 = verify_md5
        super().__init__(
            data_root=data_root,
            split='test' if subset == 'test' else 'train',
            download=False,
            test_mode=subset in ('val', 'test'),
            **kwargs)

    def _check_integrity(self):
        if self.verify_md5:
            return super()._check_integrity()
        root = osp.join(self.data_prefix['root'], self.base_folder)
        return all(
            osp.isfile(osp.join(root, f))
            for f, _ in self.train_list + self.test_list)

    def load_data_list(self):
        root = osp.join(self.data_prefix['root'], self.base_folder)
        if not self._check_integrity():
            raise FileNotFoundError(
                f'{type(self).__name__}: {root} is missing or incomplete '
                f'(expected {[f for f, _ in self.train_list + self.test_list]}'
                f'{" with their md5 sums" if self.verify_md5 else ""}). '
                f'Extract {self.filename} ({self.url}) into '
                f'{self.data_prefix["root"]}; nothing is downloaded at run '
                'time.')
        data = super().load_data_list()
        if self.subset in ('test', 'trainval'):
            return data
        if self.holdout >= len(data):
            raise ValueError(
                f'{type(self).__name__}: holdout={self.holdout} leaves no '
                f'training images of {len(data)}')
        cut = len(data) - self.holdout
        return data[:cut] if self.subset == 'train' else data[cut:]


@DATASETS.register_module()
class CIFAR10TrainVal(TrainValSplitMixin, CIFAR10):
    """CIFAR-10 with the 45k/5k train/val split (see :class:`TrainValSplitMixin`)."""


@DATASETS.register_module()
class CIFAR100TrainVal(TrainValSplitMixin, CIFAR100):
    """CIFAR-100 with the 45k/5k train/val split (see :class:`TrainValSplitMixin`)."""
