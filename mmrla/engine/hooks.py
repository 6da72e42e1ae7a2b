"""CRMN's plateau schedule (Moniz & Pal, Sec. 4): "train until the validation score
stops improving, reload the best model, lower the learning rate, repeat until the last
rate".

:class:`PlateauReloadHook` does the reloading next to mmengine's ``ReduceOnPlateauLR``
(a constant factor) or :class:`ReduceOnPlateauStepsLR` (a list of rates, e.g. 0.1,
0.01, 0.005, 0.001).
"""
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook, Hook
from mmengine.optim.scheduler import ReduceOnPlateauLR, ReduceOnPlateauParamScheduler
from mmengine.registry import HOOKS, PARAM_SCHEDULERS

from mmrla.utils.fileio import atomic_write


def _plain(value):
    """``value`` with every ``ConfigDict`` as a plain dict (for ``repr``)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


@PARAM_SCHEDULERS.register_module()
class ReduceOnPlateauStepsLR(ReduceOnPlateauLR):
    """mmengine's ``ReduceOnPlateauLR`` whose reductions follow a list of rates
    instead of a constant factor.

    ``values`` are the learning rates in order, the first being the optimizer's:
    at the k-th plateau every parameter group's rate becomes its initial rate
    times ``values[k] / values[0]`` (with one group at the config's ``lr``, just
    ``values[k]``). A plateau after the last value changes nothing, which
    :class:`PlateauReloadHook` takes as the end of training. The other arguments
    (``monitor``, ``rule``, ``patience``, ``threshold``, ``cooldown``, ...) are
    ``ReduceOnPlateauLR``'s; ``factor`` and ``min_value`` follow from ``values``.
    """

    def __init__(self, optimizer, values, **kwargs):
        name = type(self).__name__
        if (not isinstance(values, (list, tuple)) or len(values) < 2
                or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool)
                    and v > 0 for v in values)
                or any(b >= a for a, b in zip(values, values[1:]))):
            raise ValueError(
                f'{name}: invalid values={values!r}; expected a list of two or '
                'more decreasing positive learning rates, the first being the '
                "optimizer's")
        for key in ('factor', 'min_value'):
            if key in kwargs:
                raise ValueError(f'{name}: {key} is set by values; remove '
                                 f'{key}={kwargs[key]!r}')
        self.values = [float(v) for v in values]
        self.level = 0  # index in values of the current rate
        super().__init__(
            optimizer, factor=values[1] / values[0], min_value=0., **kwargs)

    def _get_value(self):
        groups = self.optimizer.param_groups
        if self.level + 1 >= len(self.values):
            return [group[self.param_name] for group in groups]
        self.level += 1
        ratio = self.values[self.level] / self.values[0]
        return [group[f'initial_{self.param_name}'] * ratio for group in groups]


@HOOKS.register_module()
class PlateauReloadHook(Hook):
    """Reload the best checkpoint whenever a plateau scheduler lowers the
    learning rate, and end training at a plateau on the last rate (CRMN, Sec. 4).

    It works with one ``ReduceOnPlateauLR`` (or :class:`ReduceOnPlateauStepsLR`)
    in ``param_scheduler`` and the ``CheckpointHook``'s best checkpoint
    (``default_hooks.checkpoint.save_best`` set to the scheduler's ``monitor``
    and ``rule``). After every validation, once the scheduler has stepped
    (this hook runs last):

    - the rate went down: the model weights of the best checkpoint so far are
      loaded (the optimizer state is kept), and training goes on at the new rate;
    - a plateau left the rate where it was (the last rate, ``min_value``):
      the best checkpoint is loaded and training stops (``stop=True``).

    The schedule of the kept model, the epochs it trained at each rate, is
    logged at the end; with ``final_run`` (a dict of config overrides, e.g.
    the whole training set and the test split for validation) the hook also
    writes ``<config>_final.py`` into the work dir: the same config with those
    overrides and that schedule as fixed ``MultiStepLR`` steps, the paper's
    "another run with all the training data included". Its progress (the rates,
    where each began, the best epoch within each) is in the message hub
    (``plateau_schedule``), so it survives ``--resume``.

    Args:
        stop (bool): stop training at a plateau on the last rate.
        final_run (dict | None): overrides for the generated final-run config;
            None writes none.
    """

    priority = 'LOWEST'  # after ParamSchedulerHook and CheckpointHook
    info_key = 'plateau_schedule'

    def __init__(self, stop=True, final_run=None):
        name = type(self).__name__
        if not isinstance(stop, bool):
            raise ValueError(f'{name}: invalid stop={stop!r}; expected True or '
                             'False')
        if final_run is not None and not isinstance(final_run, dict):
            raise ValueError(f'{name}: invalid final_run={final_run!r}; '
                             'expected None or a dict of config overrides')
        self.stop = stop
        self.final_run = final_run
        self._scheduler = None
        self._before = None

    # ---- set-up -----------------------------------------------------------------
    def before_train(self, runner):
        name = type(self).__name__
        schedulers = runner.param_schedulers or []
        if isinstance(schedulers, dict):
            schedulers = [s for group in schedulers.values() for s in group]
        plateau = [
            s for s in schedulers
            if isinstance(s, ReduceOnPlateauParamScheduler)
            and s.param_name == 'lr'
        ]
        if len(plateau) != 1:
            raise ValueError(
                f'{name}: param_scheduler has {len(plateau)} learning-rate '
                "plateau schedulers; expected one (type='ReduceOnPlateauLR' or "
                "'ReduceOnPlateauStepsLR')")
        self._scheduler = scheduler = plateau[0]
        saver = [h for h in runner.hooks if isinstance(h, CheckpointHook)]
        keys = getattr(saver[0], 'key_indicators', []) if saver else []
        rules = getattr(saver[0], 'rules', []) if saver else []
        if scheduler.monitor not in keys or rules[keys.index(
                scheduler.monitor)] != scheduler.rule:
            raise ValueError(
                f'{name}: default_hooks.checkpoint must keep the best '
                f'checkpoint by the scheduler\'s monitor: expected '
                f'save_best={scheduler.monitor!r}, rule={scheduler.rule!r}; '
                f'got save_best={keys or None!r}, rule={rules or None!r}')
        hub = runner.message_hub
        if self.info_key not in hub.runtime_info:  # not resumed
            hub.update_info(self.info_key,
                            [dict(lr=self._lr(runner), start=runner.epoch)])

    @staticmethod
    def _lr(runner):
        # to 10 digits: 0.1 * 0.1 is 0.010000000000000002 in the optimizer
        return float(f"{runner.optim_wrapper.param_groups[0]['lr']:.10g}")

    # ---- every validation -------------------------------------------------------
    def before_val_epoch(self, runner):
        if self._scheduler is None:  # runner.val() outside training
            return
        s = self._scheduler
        self._before = (self._lr(runner), s.best, s.cooldown_counter)

    def after_val_epoch(self, runner, metrics=None):
        if self._before is None:
            return
        lr_before, best_before, cooldown_before = self._before
        self._before = None
        s = self._scheduler
        lr = self._lr(runner)
        dropped = lr_before - lr > s.eps
        # the scheduler's own test: no improvement, out of cooldown, and its
        # count of bad epochs went back to 0 (what a plateau does)
        plateau = dropped or (s.best == best_before and cooldown_before == 0
                              and s.num_bad_epochs == 0)
        if not plateau:
            return
        if not dropped and not self.stop:
            return
        best = runner.message_hub.get_info('best_ckpt')
        if best is None:
            raise RuntimeError(
                f'{type(self).__name__}: the validation score plateaued but '
                'the CheckpointHook has saved no best checkpoint')
        ckpt = runner.load_checkpoint(best, strict=True)
        best_epoch = int(ckpt['meta']['epoch'])
        hub = runner.message_hub
        segments = [dict(seg) for seg in hub.get_info(self.info_key)]
        segments[-1]['best'] = best_epoch
        if dropped:
            runner.logger.info(
                f'Validation plateau at epoch {runner.epoch}: learning rate '
                f'{lr_before:g} -> {lr:g}; reloaded {best} (epoch {best_epoch})')
            segments.append(dict(lr=lr, start=runner.epoch))
            hub.update_info(self.info_key, segments)
            return
        hub.update_info(self.info_key, segments)
        runner.train_loop.stop_training = True
        lrs, epochs = self.kept_schedule(segments)
        runner.logger.info(
            f'Validation plateau at epoch {runner.epoch} on the last learning '
            f'rate ({lr:g}): training stops with {best} (epoch {best_epoch}). '
            f'Its schedule: learning rates {lrs} for {epochs} epochs')
        if self.final_run is not None and is_main_process():
            path = self.write_final_config(runner, lrs, epochs)
            runner.logger.info(f'The run on all training data: {path}')

    # ---- the kept model's schedule ----------------------------------------------
    @staticmethod
    def kept_schedule(segments):
        """The rates and the epochs the kept model trained at each: a rate's
        segment counts up to its best epoch, from where the model of the
        segment was reloaded (0 where the segment never improved)."""
        lrs = [seg['lr'] for seg in segments]
        epochs = [max(0, seg['best'] - seg['start']) for seg in segments]
        return lrs, epochs

    def write_final_config(self, runner, lrs, epochs):
        """``<config>_final.py`` in the work dir: the dumped config of this run
        with ``final_run`` and the kept schedule as fixed steps."""
        filename = runner.cfg.filename
        stem = osp.splitext(osp.basename(filename))[0] if filename else (
            runner.timestamp)
        milestones, total = [], 0
        for n in epochs[:-1]:
            total += n
            milestones.append(total)
        steps = [
            dict(type='MultiStepLR', by_epoch=True, milestones=[m],
                 gamma=float(f'{new / old:.10g}'))
            for m, old, new in zip(milestones, lrs, lrs[1:])
        ]
        hooks = [
            _plain(h) for h in runner.cfg.get('custom_hooks', [])
            if h.get('type') not in ('PlateauReloadHook', PlateauReloadHook)
        ]
        lines = [
            '# Written by PlateauReloadHook at the end of the run with '
            f'{stem}.py:',
            f'# the kept model trained {epochs} epochs at learning rates '
            f'{lrs}.',
            f'_base_ = [{stem + ".py"!r}]',
        ]
        for key, value in self.final_run.items():
            lines.append(f'{key} = {_plain(value)!r}')
        lines += [
            f'param_scheduler = {steps!r}',
            f'custom_hooks = {hooks!r}',
            'default_hooks = dict(checkpoint=dict(save_best=None))',
            f'train_cfg = dict(max_epochs={sum(epochs)})',
        ]
        path = osp.join(runner.work_dir, f'{stem}_final.py')
        with atomic_write(path) as f:
            f.write('\n'.join(lines) + '\n')
        return path
