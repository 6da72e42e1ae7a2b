"""glibc malloc settings for benchmark.py's CPU runs (a module beside it, not a tool):
speed (keep freed memory) and sound memory figures (map every large block on its own).

glibc serves large blocks with ``mmap`` and gives freed memory back to the kernel;
a training step allocates and frees hundreds of large tensors, so every step
page-faults its feature maps in again. On this project's 2-core machine (batch 8,
224x224) that costs ECA-ResNet-50 96,000 minor faults and 0.4 s of system time
per training step (+49 % over ResNet-50, whose pattern faults 31,000 times); with
freed memory kept (:func:`retain_freed_memory`), no faults and +4 %. The same
settings as environment variables, for any command (the upstream engine
unchanged)::

    MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647 python tools/train.py ...

The process then keeps its peak memory until it exits (freed blocks are reused,
not returned): a trade for long CPU runs on a dedicated machine, not a default.

The opposite setting, :func:`map_large_blocks`, makes a process's resident set
follow its live tensors: glibc's default moves its mmap threshold up as blocks
are freed (to 32 MiB), after which freed feature maps stay in the heap in
fragments, and the peak resident set of one model's training steps varied by
100 MiB (8 %) between identical runs here; with every block over 64 KiB mapped
on its own, by 0.1 MiB.
"""
import ctypes
import ctypes.util

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_MMAP_MAX = -4


def _mallopt(*settings):
    """Apply ``(param, value)`` pairs with glibc's ``mallopt``; False where the
    C library is not glibc (macOS, musl, Windows): there nothing is done."""
    name = ctypes.util.find_library('c')
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # glibc only
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return all([bool(mallopt(param, value)) for param, value in settings])


def retain_freed_memory():
    """Tell glibc malloc not to ``mmap`` large blocks nor trim freed memory.

    Returns True if applied, False where the C library is not glibc.
    """
    return _mallopt((M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, 2**31 - 1))


def map_large_blocks(threshold=64 * 1024):
    """Give every block of ``threshold`` bytes or more its own ``mmap``, returned
    to the kernel when freed, so that the resident set follows the live
    tensors (a fixed threshold also stops glibc from raising it).

    Undoes :func:`retain_freed_memory`. Returns True if applied, False where
    the C library is not glibc.
    """
    return _mallopt((M_MMAP_MAX, 65536),  # glibc's default
                    (M_MMAP_THRESHOLD, threshold))
