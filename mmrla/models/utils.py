"""Argument checking shared by every mmrla module: one error format for config mistakes."""


def invalid_arg(owner, arg, value, allowed):
    """Raise the ValueError every mmrla constructor uses for a bad argument.

    The message names the class (``owner``: a class, an instance or a name), the
    argument, the value given and what is allowed, e.g.
    ``RLAResNet: invalid depth=51; expected one of (18, 34, 50, 101, 152)``.
    """
    if not isinstance(owner, str):
        owner = (owner if isinstance(owner, type) else type(owner)).__name__
    raise ValueError(f'{owner}: invalid {arg}={value!r}; expected {allowed}')
