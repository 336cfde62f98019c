from typing import NamedTuple, Optional

import torch
from allennlp.common import Registrable


class GateOutput(NamedTuple):
    """What a `Gate` computes in one forward pass."""

    #: The gates, shape `(batch_size, seq_len)`, in [0, 1], exactly 0 at padding.
    z: torch.Tensor
    #: Each token's probability of being selected, `P(z_i != 0)` under the gate's distribution
    #: (detached, shape `(batch_size, seq_len)`, 0 at padding): a soft score for ranking tokens,
    #: e.g. for ERASER's AOPC.
    scores: torch.Tensor


class Gate(torch.nn.Module, Registrable):
    """
    A latent rationale generator: reads embedded tokens and assigns each token a gate value
    `z_i` in [0, 1] that scales its embedding before the classifier sees it
    ([Bastings et al., 2019](https://arxiv.org/abs/1905.08160), section 5; Lei et al., 2016).
    Gates are sampled in training mode and set deterministically in evaluation mode; padded
    positions are always exactly 0.

    Implementations: "hardkuma" (independent HardKuma gates), "hardkuma_dependent" (z_i
    conditioned on z_<i) and "bernoulli" (the REINFORCE baseline).
    """

    def get_input_dim(self) -> int:
        raise NotImplementedError

    def forward(self, embedded_text: torch.Tensor, mask: torch.BoolTensor) -> GateOutput:
        """
        # Parameters

        embedded_text : `torch.Tensor`, shape `(batch_size, seq_len, input_dim)`
        mask : `torch.BoolTensor`, shape `(batch_size, seq_len)`

        # Returns

        `GateOutput`: the gates `z` and their scores `P(z != 0)`, each `(batch_size, seq_len)`.
        """
        raise NotImplementedError

    def loss(self, per_instance_task_loss: torch.Tensor) -> Optional[torch.Tensor]:
        """
        An extra training loss that the gate needs from the model, given the task loss of each
        instance of the last forward pass (shape `(batch_size,)`); `None` when the gate needs
        none. HardKuma gates are trained through the reparameterised sample and need none (their
        penalties go through the `lagrangian` callback); the Bernoulli gate returns its REINFORCE
        surrogate here.
        """
        return None
