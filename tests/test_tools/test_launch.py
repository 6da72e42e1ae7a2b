"""What tools/_launch.py leaves behind: no process group after a run."""
import torch.distributed as dist

from conftest import REPO


def test_close_process_group(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / 'tools'))  # as running a tool does
    from _launch import close_process_group

    close_process_group()  # no group: nothing to do
    store = dist.FileStore(str(tmp_path / 'store'), 1)
    dist.init_process_group('gloo', store=store, rank=0, world_size=1)
    try:
        assert dist.is_initialized()
        close_process_group()
        assert not dist.is_initialized()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
