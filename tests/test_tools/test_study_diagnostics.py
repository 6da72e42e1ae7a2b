"""tools/analysis/study_diagnostics.py on a tiny finished study: the last epoch's
training loss, layer attention's alphas and ECA's gates per arm; bad input."""
from test_study import fake_fmnist, load_tool, study, tiny_options  # noqa: F401

from conftest import REPO

diagnostics = load_tool('study_diagnostics')


def test_diagnostics_of_a_finished_study(fake_fmnist, tmp_path):  # noqa: F811
    work = tmp_path / 'study'
    arms = [REPO / 'configs/study/eca-rla-resnet20_fmnist.py',
            REPO / 'configs/study/rla-attention-resnet20_fmnist.py']
    assert study.main([*map(str, arms), '--seeds', '0', '--work-dir',
                       str(work), *tiny_options(fake_fmnist, epochs=1)]) == 0
    for name in ('eca-rla-resnet20_fmnist', 'rla-attention-resnet20_fmnist'):
        result = work / name / 'seed0' / 'study_result.json'
        assert result.is_file()
    out = tmp_path / 'diag.md'  # the runs read the fake data through options
    assert diagnostics.main([str(work), '--images', '24', '--md', str(out),
                             '--data-root', str(fake_fmnist)]) == 0
    rows = {line.split(' | ')[0][2:]: line.split(' | ')
            for line in out.read_text().splitlines()[2:]}
    eca, attention = rows['eca-rla-resnet20_fmnist'], rows[
        'rla-attention-resnet20_fmnist']
    assert float(eca[2]) > 0 and float(attention[2]) > 0  # training loss
    assert 0 < float(eca[5]) < 1 and eca[3] == '—'  # gates, no alpha
    assert 0 < float(attention[3]) < 1 and attention[5] == '—'
    low, high = map(float, attention[4].split(' … '))
    assert 0 < low <= float(attention[3]) <= high < 1


def test_an_empty_work_dir_is_refused(tmp_path, capsys):
    assert diagnostics.main([str(tmp_path)]) == 1
    assert 'no finished run' in capsys.readouterr().err
