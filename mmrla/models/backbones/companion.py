"""The companion protocol: how a recurrent companion walks along a staged CNN.

A backbone (``ResNetBody``, ``VGGBody``, ``RLAMobileNetV2``) mixes in
:class:`CompanionHooks`; its stages are :class:`CompanionStage` and its blocks
:class:`CompanionBlock`. Its ``forward`` runs::

    walk = CompanionWalk(self, self.init_state(stem_output))
    for i, stage in enumerate(stages):
        x = stage(x, walk)            # stage's module call: its hooks fire
        if i in out_indices:
            outs.append(self.stage_output(i, x, walk.state))

and every block's module call, ``block(x, walk)``, comes back to the backbone as
``forward_block(stage, index, block, x, state) -> (x, state)`` (three calls from
the body's loop to the companion's code). A companion is a
backbone subclass that overrides these four hooks (the defaults make the plain
network):

- ``init_state(x)``: the state after the stem (``x`` is the stem output);
- ``forward_block(stage, index, block, x, state)``: runs the block through
  ``block.forward_plain(x)`` or, for split blocks, ``forward_parts`` / ``merge``
  (never ``block(...)``, whose call is already running), reads or writes the
  state, returns the block's output and the new state;
- ``stage_output(stage, x, state)``: what the backbone returns for a stage;
- ``companion_modules(stage)``: its modules (or parameters) that freezing stage
  ``stage`` (1-based) also freezes.

It builds its modules in ``build_companion()``, which the body calls once its own
modules exist, just before it freezes ``frozen_stages`` (the only freeze during
construction; both in :meth:`CompanionHooks.attach_companion`, the body's last
construction step): arguments the companion needs there, or in the body's block
construction (``extra_block_kwargs``), are stored before ``super().__init__``.

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

    def attach_companion(self, stages):
        """The body's last construction step: gives every block of ``stages``
        its position, builds the companion (:meth:`build_companion`) and
        freezes ``frozen_stages`` (the only freeze during construction)."""
        number_blocks(stages)
        self.build_companion()
        self._freeze_stages()

    def build_companion(self):
        """Builds the companion's modules. The body calls it once, after its own
        modules exist and before it freezes ``frozen_stages``."""

    def companion_modules(self, stage):
        """The companion's modules that freezing stage ``stage`` (1-based) also
        freezes."""
        return []
