"""Runner checkpoints load under torch's safe loader; nothing else is opened up."""
import pickle

import numpy as np
import pytest
import torch

from mmengine.logging import HistoryBuffer, MessageHub

import mmrla  # noqa: F401  (allow-lists Runner checkpoint types)
from mmrla.utils import save_checkpoint_atomic


def test_message_hub_state_round_trips_with_weights_only(tmp_path):
    hub = MessageHub.get_instance('mmrla-test')
    for v in (3.0, 1.0, 2.0):
        hub.update_scalar('train/loss', v)
    hub.update_info('iter', 7)
    path = tmp_path / 'ckpt.pth'
    torch.save({'message_hub': hub.state_dict(),
                'meta': {'np': np.float64(1.5), 'arr': np.arange(3)}}, path)
    loaded = torch.load(path)  # torch's default: weights_only=True
    buffer = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer)
    assert (buffer.min(), buffer.max(), buffer.current()) == (1.0, 3.0, 2.0)
    assert loaded['meta']['np'] == 1.5
    assert loaded['meta']['arr'].tolist() == [0, 1, 2]


class _GetattrPickle:

    def __init__(self, obj, name):
        self.obj, self.name = obj, name

    def __reduce__(self):
        return (getattr, (self.obj, self.name))


@pytest.mark.parametrize('obj,name', [
    (HistoryBuffer, '__subclasses__'),
    (HistoryBuffer, '_set_default_statistics'),
    (HistoryBuffer, 'update_nonexistent'),
    (np.ndarray, 'tofile'),
])
def test_getattr_is_allowed_for_history_buffer_methods_only(
        tmp_path, obj, name):
    path = tmp_path / 'evil.pth'
    torch.save({'x': _GetattrPickle(obj, name)}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)


def test_atomic_save_leaves_nothing_on_failure(tmp_path):

    class Unpicklable:

        def __reduce__(self):
            raise RuntimeError('boom')

    dst = tmp_path / 'out.pth'
    with pytest.raises(RuntimeError, match='boom'):
        save_checkpoint_atomic({'x': Unpicklable()}, dst)
    assert list(tmp_path.iterdir()) == []
    save_checkpoint_atomic({'x': torch.ones(2)}, dst)
    assert torch.load(dst, weights_only=True)['x'].tolist() == [1.0, 1.0]
    assert [p.name for p in tmp_path.iterdir()] == ['out.pth']
