from typing import Callable, NamedTuple, Optional, Tuple

import torch
from allennlp.common.checks import check_dimensions_match
from allennlp.modules import Seq2VecEncoder

from hardkuma_allennlp.modules.gates.gate import Gate


class RationaleEncoding(NamedTuple):
    """What `LatentRationaleEncoder.encode_rationale` computes in one forward pass."""

    #: The classifier encoder's output, shape `(batch_size, output_dim)`.
    vector: torch.Tensor
    #: The gates, detached, shape `(batch_size, seq_len)`, 0 at padding.
    z: torch.Tensor
    #: The gate's `P(z != 0)` of each token, detached, shape `(batch_size, seq_len)`; `None`
    #: where there is no gate (every token read).
    scores: Optional[torch.Tensor]
    #: The gate's extra training loss given each instance's task loss (`Gate.loss`), or `None`.
    gate_loss: Optional[Callable[[torch.Tensor], Optional[torch.Tensor]]] = None


def gather_selected(
    vectors: torch.Tensor, keep: torch.BoolTensor
) -> Tuple[torch.Tensor, torch.BoolTensor]:
    """
    The vectors at the positions where `keep` is True, moved to the front of each row in their
    order (a stable sort), and the mask of the result: shapes `(batch_size, length, dim)` and
    `(batch_size, length)`, with `length` the largest count of kept positions in the batch (at
    least 1, so that a batch without any kept position gives fully masked rows, not an empty
    tensor). Positions past a row's count are zero.
    """
    # Shape: (batch_size,)
    counts = keep.sum(1)
    length = max(1, int(counts.max())) if keep.numel() else 1
    # Kept positions first, in text order.
    # Shape: (batch_size, length)
    order = torch.sort((~keep).to(torch.uint8), dim=1, stable=True).indices[:, :length]
    new_mask = torch.arange(length, device=keep.device).unsqueeze(0) < counts.unsqueeze(1)
    if order.size(1) < length:  # an empty input (seq_len 0)
        return vectors.new_zeros(vectors.size(0), length, vectors.size(2)), new_mask
    gathered = vectors.gather(1, order.unsqueeze(-1).expand(-1, -1, vectors.size(-1)))
    return gathered * new_mask.unsqueeze(-1), new_mask


@Seq2VecEncoder.register("latent_rationale")
class LatentRationaleEncoder(Seq2VecEncoder):
    """
    A Seq2VecEncoder that first selects a rationale and then encodes only the selection
    ([Bastings et al., 2019](https://arxiv.org/abs/1905.08160), section 5): a `Gate` assigns
    every token a gate `z_i` in [0, 1] (HardKuma, dependent HardKuma or Bernoulli), and the
    classifier encoder reads `z_i * x_i`.

    What the classifier encoder reads of an unselected token (`z_i = 0`) depends on
    `skip_unselected`:

    - `False` (default): a zero vector in its place. A recurrent encoder still takes a step there,
      so the unselected tokens decay its state (an RCNN's state halves per step at
      initialisation) and their positions remain visible; the SST models of the paper read the
      rationale this way.
    - `True`: nothing. The selected tokens `z_i * x_i` are gathered, in text order, into one
      contiguous sequence with its own mask (as long as the longest rationale in the batch), and
      the encoder reads that, so any `Seq2VecEncoder` reads the rationale alone, as if it were the
      input. This is what the authors' BeerAdvocate models do (their RCNN only steps at
      `z_i > 0`), and on reviews of hundreds of tokens it is what lets the regressor remember
      the few selected words: it also makes the classifier encoder cheaper by the selection rate.
      Gradients reach each selected `z_i` through `z_i * x_i`, as without skipping. A row
      without any selected token is a fully masked row (AllenNLP's wrappers encode it as zeros);
      a batch without any encodes to zeros.

    `forward` returns the encoded vector, as any `Seq2VecEncoder`; `encode_rationale` returns it
    together with the gates, their scores `P(z_i != 0)` and the gate's extra loss (a
    `RationaleEncoding`), which the `rationale_model` reads. HardKuma gates report their expected
    selection and transition rates to the `lagrangian` trainer callback, so this encoder also
    trains inside AllenNLP's own `basic_classifier`; the Bernoulli gate needs the model's
    per-instance loss (`RationaleEncoding.gate_loss`) and so trains in the `rationale_model`.

    Registered as a `Seq2VecEncoder` with name "latent_rationale".

    # Parameters

    gate : `Gate`
        Produces the gates from the embedded tokens.
    encoder : `Seq2VecEncoder`
        The classifier encoder, reading the gated embeddings.
    skip_unselected : `bool`, optional (default = `False`)
        If `True`, the classifier encoder reads only the selected tokens, as one contiguous
        sequence (see above).
    dropout : `float`, optional (default = `0.0`)
        Dropout on the gate's input and, with an independent mask, on the classifier encoder's
        input, as in the paper authors' models (each has its own dropout on the shared
        embeddings). To use it instead of the `rationale_model`'s dropout on the embeddings, set
        that model's `embedding_dropout` to 0.
    """

    def __init__(
        self,
        gate: Gate,
        encoder: Seq2VecEncoder,
        skip_unselected: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        gate_dim, encoder_dim = gate.get_input_dim(), encoder.get_input_dim()
        check_dimensions_match(gate_dim, encoder_dim, "gate input dim", "encoder input dim")
        self._dropout = torch.nn.Dropout(dropout)
        self.gate = gate
        self._encoder = encoder
        self._skip_unselected = skip_unselected

    def forward(self, tokens: torch.Tensor, mask: torch.BoolTensor) -> torch.Tensor:
        # Shape: (batch_size, encoder_output_dim)
        return self.encode_rationale(tokens, mask).vector

    def get_input_dim(self) -> int:
        return self._encoder.get_input_dim()

    def get_output_dim(self) -> int:
        return self._encoder.get_output_dim()

    def encode_rationale(self, tokens: torch.Tensor, mask: torch.BoolTensor) -> RationaleEncoding:
        """
        `forward`, with what the gate selected. (A method, not `forward`: this module's forward
        hooks do not see it; the gate's do.)

        # Parameters

        tokens : `torch.Tensor`, shape `(batch_size, seq_len, input_dim)`
        mask : `torch.BoolTensor`, shape `(batch_size, seq_len)`

        # Returns

        `RationaleEncoding`: the encoded vector `(batch_size, output_dim)`, the gates `z` and their
        scores (each `(batch_size, seq_len)`, detached) and the gate's extra loss.
        """
        gate_output = self.gate(self._dropout(tokens), mask)
        # Shape: (batch_size, seq_len)
        z = gate_output.z
        # Shape: (batch_size, seq_len, input_dim)
        gated = self._dropout(tokens) * z.unsqueeze(-1)
        if self._skip_unselected:
            gated, mask = gather_selected(gated, mask & (z != 0))
        if self._skip_unselected and not mask.any():
            # Nothing selected in the whole batch: AllenNLP's RNN wrappers cannot pack an empty
            # batch, and they encode an empty row as zeros.
            vector = gated.new_zeros(gated.size(0), self.get_output_dim())
        else:
            # Shape: (batch_size, encoder_output_dim)
            vector = self._encoder(gated, mask)
        return RationaleEncoding(vector, z.detach(), gate_output.scores, self.gate.loss)
