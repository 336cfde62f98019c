from typing import Optional

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.modules import Seq2VecEncoder

from hardkuma_allennlp.modules.gates.gate import Gate


@Seq2VecEncoder.register("latent_rationale")
class LatentRationaleEncoder(Seq2VecEncoder):
    """
    A Seq2VecEncoder that first selects a rationale and then encodes only the selection
    ([Bastings et al., 2019](https://arxiv.org/abs/1905.08160), section 5): a `Gate` assigns
    every token a gate `z_i` in [0, 1] (HardKuma, dependent HardKuma or Bernoulli), and the
    classifier encoder reads `z_i * x_i`. A token with `z_i = 0` enters the classifier encoder as
    a zero vector, so it has no influence on the output beyond its effect on the gates.

    The gates of the last forward pass are kept in `last_z` (shape `(batch_size, seq_len)`,
    detached) for models and predictors, and the gate's soft scores `P(z_i != 0)` in
    `gate.last_scores`. HardKuma gates report their expected selection and
    transition rates to the `lagrangian` trainer callback, so this encoder also trains inside
    AllenNLP's own `basic_classifier`; the Bernoulli gate needs the model's per-instance loss
    (see `gate_loss`) and so trains in the `rationale_model`.

    Registered as a `Seq2VecEncoder` with name "latent_rationale".

    # Parameters

    gate : `Gate`
        Produces the gates from the embedded tokens.
    encoder : `Seq2VecEncoder`
        The classifier encoder, reading the gated embeddings.
    """

    def __init__(self, gate: Gate, encoder: Seq2VecEncoder) -> None:
        super().__init__()
        if gate.get_input_dim() != encoder.get_input_dim():
            raise ConfigurationError(
                f"latent_rationale: the gate reads {gate.get_input_dim()}-dimensional inputs but "
                f"the classifier encoder reads {encoder.get_input_dim()}-dimensional ones"
            )
        self.gate = gate
        self._encoder = encoder
        self.last_z: Optional[torch.Tensor] = None

    def get_input_dim(self) -> int:
        return self._encoder.get_input_dim()

    def get_output_dim(self) -> int:
        return self._encoder.get_output_dim()

    def forward(self, tokens: torch.Tensor, mask: torch.BoolTensor) -> torch.Tensor:
        # Shape: (batch_size, seq_len)
        z = self.gate(tokens, mask)
        self.last_z = z.detach()
        # Shape: (batch_size, encoder_output_dim)
        return self._encoder(tokens * z.unsqueeze(-1), mask)

    def gate_loss(self, per_instance_task_loss: torch.Tensor) -> Optional[torch.Tensor]:
        """The gate's extra training loss for the last forward pass (see `Gate.loss`)."""
        return self.gate.loss(per_instance_task_loss)
