"""The companion protocol: how a recurrent companion walks along a staged CNN.

A backbone (``ResNetBody``, ``VGGBody``, ``RLAMobileNetV2``) mixes in
:class:`CompanionHooks`; its stages are :class:`CompanionStage` and its blocks
:class:`CompanionBlock`. Its ``forward`` (:meth:`CompanionHooks.forward`, here)
runs::

    x = self.forward_stem(x)
    walk = CompanionWalk(self, self.init_state(x))
    for i, stage in enumerate(stages):
        x = stage(x, walk)            # stage's module call: its hooks fire
        if i in out_indices:
            outs.append(self.stage_output(i, x, walk.state))
    return tuple(outs) + self.forward_tail(x, walk.state)

and every block's module call, ``block(x, walk)``, comes back to the backbone as
``forward_block(stage, index, block, x, state) -> (x, state)``: from ``forward``
to the companion's code are three calls, all in this file. A companion is a
backbone subclass that overrides these hooks (the defaults make the plain
network):

- ``init_state(x)``: the state after the stem (``x`` is the stem output);
- ``forward_block(stage, index, block, x, state)``: runs the block through
  ``block.forward_plain(x)`` or, for split blocks, ``forward_parts`` / ``merge``
  (never ``block(...)``, whose call is already running), reads or writes the
  state, returns the block's output and the new state;
- ``stage_output(stage, x, state)``: what the backbone returns for a stage
  (overrides start from ``super().stage_output(stage, x, state)``, where a
  body finishes its last stage, e.g. the pre-activation ResNet's final norm);
- ``companion_modules(stage)``: its modules (or parameters) that freezing stage
  ``stage`` (1-based) also freezes.

It builds its modules in ``build_companion()``, which the body calls once its own
modules exist, just before it freezes ``frozen_stages`` (the only freeze during
construction; both in :meth:`CompanionHooks.attach_companion`, the body's last
construction step): arguments the companion needs there, or in the body's block
construction (``extra_block_kwargs``), are stored before ``super().__init__``, as
mmpretrain's ``ResNeXt`` stores ``groups`` for the blocks its parent builds.

A body says only what differs: its stem (``forward_stem``), its stages (the
names it gives ``attach_companion``), how it ends its last stage (its own
``stage_output``) and what runs after the stages (``forward_tail``:
MobileNetV2's final conv).

The state travels beside the module calls, never instead of them, so forward and
backward hooks of every stage and block see the feature maps as on the plain
network. ``docs/companion.md`` builds a small companion step by step.
"""


class CompanionBlock:
    """A block that a recurrent companion can run: ``block(x)`` is the plain
    block (:meth:`forward_plain`); ``block(x, walk)`` runs the backbone's
    ``forward_block`` for this block (its ``position``, ``(stage, index)``,
    set by :func:`number_blocks`) with the walk's state. Either way the block is
    called as a module, so its hooks fire and see its output."""

    def forward_plain(self, x):
        raise NotImplementedError

    def forward(self, x, walk=None):
        if walk is None:
            return self.forward_plain(x)
        stage, index = self.position
        x, walk.state = walk.model.forward_block(stage, index, self, x,
                                                 walk.state)
        return x


class CompanionStage:
    """A stage (a sequence of :class:`CompanionBlock`) whose call passes the
    companion's walk on to every block: ``stage(x, walk)`` returns the feature
    map, as upstream stages do; the state travels in ``walk``."""

    def forward(self, x, walk=None):
        for block in self:
            x = block(x, walk)
        return x


class CompanionWalk:
    """The companion's state during one forward pass: the body hands it to
    every stage call, and every block's call replaces ``state``."""

    def __init__(self, model, state):
        self.model = model
        self.state = state


def number_blocks(stages):
    """Gives every block of ``stages`` (a sequence of :class:`CompanionStage`)
    its ``position``, ``(stage, index)``, which its call hands to the
    companion."""
    for i, stage in enumerate(stages):
        for j, block in enumerate(stage):
            block.position = (i, j)


class CompanionHooks:
    """The hooks through which a recurrent companion walks along a staged body.

    A body's forward calls ``init_state`` after its stem, ``forward_block`` for
    every block (from inside the block's module call, see
    :class:`CompanionBlock`) and ``stage_output`` for every returned stage; these
    defaults make the plain network. Companions override them (RLA-Net, CRMN,
    RA-LSTM, ...).
    """

    #: Why a traced graph of the backbone (ONNX, ``torch.export``) holds only
    #: the image size it was traced at (its batch size stays free), or None:
    #: any image size. ``tools/deployment/pytorch2onnx.py`` reads it.
    image_size_fixed_in_graph = None

    def forward(self, x):
        """The body's stem, then every stage with the companion's walk."""
        x = self.forward_stem(x)
        walk = CompanionWalk(self, self.init_state(x))
        outs = []
        for i, name in enumerate(self.stage_names):
            x = getattr(self, name)(x, walk)
            if i in self.out_indices:
                outs.append(self.stage_output(i, x, walk.state))
        return tuple(outs) + self.forward_tail(x, walk.state)

    def forward_stem(self, x):
        """The body before its first stage (none by default)."""
        return x

    def forward_tail(self, x, state):
        """The outputs of what the body runs after its last stage (none by
        default; MobileNetV2's final conv)."""
        return ()

    def init_state(self, x):
        """The companion's state after the stem (``x`` is the stem output)."""
        return None

    def forward_block(self, stage, index, block, x, state):
        """Runs block ``index`` of stage ``stage``; returns ``(x, state)``.
        Overrides compute the block through its parts (``forward_parts``,
        ``merge``) or :meth:`CompanionBlock.forward_plain`, never through the
        block's call, which is already running."""
        return block.forward_plain(x), state

    def stage_output(self, stage, x, state):
        """What the backbone returns for an ``out_indices`` stage."""
        return x

    def attach_companion(self, stage_names):
        """The body's last construction step: records its stages (the names of
        its :class:`CompanionStage` modules, in order), gives every block its
        position, builds the companion (:meth:`build_companion`) and freezes
        ``frozen_stages`` (the only freeze during construction)."""
        self.stage_names = tuple(stage_names)
        number_blocks([getattr(self, name) for name in self.stage_names])
        self.build_companion()
        self._freeze_stages()

    def build_companion(self):
        """Builds the companion's modules. The body calls it once, after its own
        modules exist and before it freezes ``frozen_stages``."""

    def companion_modules(self, stage):
        """The companion's modules that freezing stage ``stage`` (1-based) also
        freezes."""
        return []
