from .pool_flatten import PoolFlatten

__all__ = ['PoolFlatten']
