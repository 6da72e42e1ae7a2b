"""CRMN's schedule (Sec. 4): plateau -> reload the best model -> next rate, stop at a
plateau on the last rate; a tiny mmengine run with scripted validation scores."""
import pytest
import torch
import torch.nn as nn

from mmengine.config import Config
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner

import mmrla  # noqa: F401  (registers the hook and the scheduler)
from mmrla.engine.hooks import PlateauReloadHook, ReduceOnPlateauStepsLR

# epoch:     1    2    3    4    5    6    7    8     9
SCORES = [0.1, 0.3, 0.2, 0.2, 0.5, 0.4, 0.4, 0.45, 0.45]


class Toy(BaseModel):

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 1)

    def forward(self, inputs, targets=None, mode='tensor'):
        out = self.fc(torch.stack(inputs))
        if mode == 'loss':
            return dict(loss=(out - torch.stack(targets)).square().mean())
        return out


class ScriptedScore(BaseMetric):
    """Returns SCORES[k] at its k-th evaluation, whatever the model does."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def process(self, data_batch, data_samples):
        self.results.append(0)

    def compute_metrics(self, results):
        self.calls += 1
        return dict(score=SCORES[self.calls - 1])


class Probe(Hook):
    """The learning rate and the weights at the start and end of every epoch."""
    priority = 'HIGHEST'

    def __init__(self):
        self.lrs, self.start, self.end = [], [], []

    def before_train_epoch(self, runner):
        self.lrs.append(runner.optim_wrapper.param_groups[0]['lr'])
        self.start.append(runner.model.fc.weight.detach().clone())

    def after_train_epoch(self, runner):
        self.end.append(runner.model.fc.weight.detach().clone())


def make_runner(tmp_path, scheduler, checkpoint=None, final_run=None):
    torch.manual_seed(0)
    data = [dict(inputs=torch.randn(2), targets=torch.randn(1))
            for _ in range(8)]
    loader = dict(dataset=data, batch_size=4, collate_fn=dict(
        type='pseudo_collate'), sampler=dict(type='DefaultSampler',
                                             shuffle=False))
    probe = Probe()
    runner = Runner(
        model=Toy(),
        work_dir=str(tmp_path),
        train_dataloader=loader,
        val_dataloader=loader,
        val_evaluator=[ScriptedScore()],
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        param_scheduler=scheduler,
        train_cfg=dict(by_epoch=True, max_epochs=20, val_interval=1),
        val_cfg=dict(),
        default_hooks=dict(checkpoint=checkpoint or dict(
            type='AtomicCheckpointHook', interval=100, save_best='score',
            rule='greater')),
        custom_hooks=[probe, dict(type='PlateauReloadHook',
                                  final_run=final_run)],
        # its own message hub: two runners built within one second share the
        # default (timestamped) name, and with it the previous run's best_ckpt
        experiment_name=f'plateau_{tmp_path.name}',
    )
    return runner, probe


def test_reloads_the_best_model_at_each_drop_and_stops_at_the_last_rate(
        tmp_path):
    scheduler = dict(type='ReduceOnPlateauStepsLR', values=[0.1, 0.01, 0.005],
                     monitor='score', rule='greater', patience=1)
    final_run = dict(train_dataloader=dict(dataset=dict(holdout=0)))
    runner, probe = make_runner(tmp_path, scheduler, final_run=final_run)
    runner.train()
    # plateaus after epochs 4 (-> 0.01), 7 (-> 0.005) and 9 (last rate: stop)
    assert runner.epoch == 9
    torch.testing.assert_close(
        torch.tensor(probe.lrs),
        torch.tensor([0.1] * 4 + [0.01] * 3 + [0.005] * 2), rtol=1e-9, atol=0)
    # each new rate starts from the best weights so far: epoch 2's, then 5's
    assert not torch.equal(probe.end[3], probe.end[1])  # training moved on
    assert torch.equal(probe.start[4], probe.end[1])
    assert torch.equal(probe.start[7], probe.end[4])
    # and the run ends with the best model (epoch 5), not epoch 9's
    assert torch.equal(runner.model.fc.weight, probe.end[4])
    segments = runner.message_hub.get_info('plateau_schedule')
    assert [(s['lr'], s['start'], s['best']) for s in segments] == [
        (0.1, 0, 2), (pytest.approx(0.01), 4, 5), (pytest.approx(0.005), 7, 5)]
    assert PlateauReloadHook.kept_schedule(segments)[1] == [2, 1, 0]

    # the final run: the kept schedule as fixed steps, with the overrides
    final, = tmp_path.glob('*_final.py')  # beside the run's dumped config
    final = Config.fromfile(str(final))
    steps = final.param_scheduler
    assert [s.milestones for s in steps] == [[2], [3]]
    assert [s.gamma for s in steps] == [pytest.approx(0.1), pytest.approx(0.5)]
    assert final.train_cfg.max_epochs == 3
    assert final.default_hooks.checkpoint.save_best is None
    assert final.train_dataloader.dataset.holdout == 0
    assert final.custom_hooks == []


def test_upstream_reduce_on_plateau_with_a_floor(tmp_path):
    """mmengine's ReduceOnPlateauLR (factor 0.1, floor 0.001), the paper's
    0.1 -> 0.01 -> 0.001: the same plateaus, then the floor ends the run."""
    scheduler = dict(type='ReduceOnPlateauLR', monitor='score', rule='greater',
                     patience=1, factor=0.1, min_value=0.001)
    runner, probe = make_runner(tmp_path, scheduler)
    runner.train()
    assert runner.epoch == 9
    torch.testing.assert_close(
        torch.tensor(probe.lrs),
        torch.tensor([0.1] * 4 + [0.01] * 3 + [0.001] * 2), rtol=1e-9, atol=0)
    assert torch.equal(runner.model.fc.weight, probe.end[4])
    assert not list(tmp_path.glob('*_final.py'))  # no final_run given


def test_needs_the_best_checkpoint_of_the_monitored_score(tmp_path):
    scheduler = dict(type='ReduceOnPlateauLR', monitor='score', rule='greater')
    runner, _ = make_runner(tmp_path, scheduler, checkpoint=dict(
        type='CheckpointHook', interval=1))
    with pytest.raises(ValueError, match="save_best='score', rule='greater'"):
        runner.train()


def test_needs_one_plateau_scheduler(tmp_path):
    scheduler = dict(type='MultiStepLR', milestones=[2])
    runner, _ = make_runner(tmp_path, scheduler)
    with pytest.raises(ValueError, match='has 0 learning-rate plateau'):
        runner.train()


@pytest.mark.parametrize('kwargs,match', [
    (dict(values=[0.1]), 'invalid values'),
    (dict(values=[0.1, 0.1]), 'invalid values'),
    (dict(values=[0.1, 0.01], factor=0.5), 'factor is set by values'),
])
def test_steps_scheduler_bad_arguments(kwargs, match):
    opt = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1)
    with pytest.raises(ValueError, match=match):
        ReduceOnPlateauStepsLR(opt, **kwargs)


def test_hook_bad_arguments():
    with pytest.raises(ValueError, match='invalid final_run='):
        PlateauReloadHook(final_run=['x'])
    with pytest.raises(ValueError, match='invalid stop='):
        PlateauReloadHook(stop='yes')
