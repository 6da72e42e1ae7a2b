"""What the launch helpers leave behind: no process group after a run."""
import torch.distributed as dist

from mmrla.utils.launch import close_process_group


def test_close_process_group(tmp_path):
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
