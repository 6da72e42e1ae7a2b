"""What tools/train.py and tools/test.py share (a module beside them, not a tool):
their common arguments, config loading, running several processes on CPUs, and the
start-up check that the data a run reads is there."""
import os
import os.path as osp
import subprocess

import torch

from mmengine.config import Config

from mmrla.utils.launch import CfgOptions


def add_common_args(parser):
    """``--work-dir``, ``--cfg-options``, ``--launcher``, ``--local-rank``."""
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=CfgOptions,
        help='override config settings, xxx=yyy format')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_common(parser, argv=None):
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def slurm_to_torch_env():
    """torch.distributed's ``env://`` variables from a Slurm task's, as mmengine's
    ``_init_dist_slurm`` sets them (MASTER_ADDR: the first node of the job, unless
    set; MASTER_PORT: 29500, unless set)."""
    env = os.environ
    if 'MASTER_ADDR' not in env:
        nodes = env['SLURM_NODELIST']
        env['MASTER_ADDR'] = subprocess.getoutput(
            f'scontrol show hostname {nodes} | head -n1')
    env.setdefault('MASTER_PORT', '29500')
    env['WORLD_SIZE'] = env['SLURM_NTASKS']
    env['RANK'] = env['SLURM_PROCID']
    env['LOCAL_RANK'] = env.get('SLURM_LOCALID', '0')


def use_cpu_distributed(cfg):
    """Let several CPU processes run together: gloo instead of NCCL, and DDP
    without device_ids (mmengine passes the local rank, which CPU modules refuse).

    With torchrun or Slurm, the process group is made here: mmengine's
    ``init_dist`` calls ``torch.cuda.set_device`` unconditionally, which raises
    without a driver, and the Runner skips ``init_dist`` when a group already
    exists.
    """
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    if (cfg.launcher in ('pytorch', 'slurm')
            and not torch.distributed.is_initialized()):
        if cfg.launcher == 'slurm':
            slurm_to_torch_env()
        torch.distributed.init_process_group(backend='gloo')
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper


def close_process_group():
    """Destroy the default process group after a run that ended normally.

    mmengine leaves it to interpreter exit, where gloo's worker threads may still
    hold tensors with Python references: torch 2.14 then sometimes aborts
    ('terminate called without an active exception', SIGABRT, a failed exit code
    after a complete run; pytorch/pytorch#190489). Seen in 2 of 19 two-process
    ``dist_test.sh`` runs of the test suite. Not called after an error: a peer may
    still wait in a collective, and the barrier would then block.
    """
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        dist.barrier()  # no rank tears its connections down while a peer reads
        dist.destroy_process_group()


def load_config(args):
    """Load ``args.config`` and apply the common arguments.

    work_dir: ``--work-dir`` > the config's > ``./work_dirs/<config name>``.
    """
    if not osp.isfile(args.config):
        raise SystemExit(f'error: config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.launcher != 'none' and not torch.cuda.is_available():
        use_cpu_distributed(cfg)
    return cfg


def _is_remote(path):
    return '://' in path


def _join(data_root, path):
    """As mmengine's ``BaseDataset._join_prefix`` joins a relative path."""
    if data_root and not osp.isabs(path) and not _is_remote(path):
        return osp.join(data_root, path)
    return path


def _dataset_problem(field, dataset):
    """The first missing path a dataset config names, as ``(field, kind, path)``."""
    if not isinstance(dataset, dict):
        return None
    data_root = dataset.get('data_root') or ''
    if not isinstance(data_root, str) or _is_remote(data_root):
        data_root = ''
    if data_root and not osp.isdir(data_root) and not dataset.get('download'):
        return f'{field}.data_root', 'no such directory', data_root
    ann_file = dataset.get('ann_file') or ''
    if isinstance(ann_file, str) and ann_file and not _is_remote(ann_file):
        path = _join(data_root, ann_file)
        if not osp.isfile(path):
            return f'{field}.ann_file', 'no such file', path
    prefix = dataset.get('data_prefix') or {}
    if isinstance(prefix, str):
        prefix = dict(img_path=prefix)
    if isinstance(prefix, dict):
        for key, value in prefix.items():
            if isinstance(value, str) and value and not _is_remote(value):
                path = _join(data_root, value)
                if not osp.exists(path):
                    where = (f'{field}.data_prefix' if isinstance(
                        dataset.get('data_prefix'), str) else
                             f'{field}.data_prefix.{key}')
                    return where, 'no such directory', path
    for key in ('dataset', 'datasets'):  # wrappers: Concat-, Repeat-, ...
        inner = dataset.get(key)
        for i, sub in enumerate(inner if isinstance(inner, (list, tuple))
                                else [inner]):
            where = (f'{field}.{key}.{i}' if isinstance(inner, (list, tuple))
                     else f'{field}.{key}')
            found = _dataset_problem(where, sub)
            if found:
                return found
    return None


def _evaluator_problem(field, evaluator):
    """A missing ``ann_file`` of an evaluator (e.g. CocoMetric's)."""
    metrics = evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]
    for i, metric in enumerate(metrics):
        if not isinstance(metric, dict):
            continue
        ann_file = metric.get('ann_file') or ''
        where = (f'{field}.{i}.ann_file'
                 if isinstance(evaluator, (list, tuple)) else f'{field}.ann_file')
        if (isinstance(ann_file, str) and ann_file
                and not _is_remote(ann_file) and not osp.isfile(ann_file)):
            return where, 'no such file', ann_file
    return None


def check_data_paths(cfg, splits):
    """Exit with one line naming the config field and the path when a dataset of
    ``splits`` (``'train'``, ``'val'``, ``'test'``) points at a missing data root,
    annotation file or image folder, so the run stops at start-up, before the model is
    built, rather than with a traceback after it (or, for images, at the first
    iteration). Remote paths (``s3://``...) are left to their backends."""
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not loader:
            continue
        found = _dataset_problem(f'{split}_dataloader.dataset',
                                 loader.get('dataset'))
        if found is None and cfg.get(f'{split}_evaluator'):
            found = _evaluator_problem(f'{split}_evaluator',
                                       cfg.get(f'{split}_evaluator'))
        if found:
            field, kind, path = found
            raise SystemExit(
                f'error: {field}: {kind}: {path} (make the data, or set the '
                f'path with --cfg-options {field}=...)')
