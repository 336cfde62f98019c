import torch
from allennlp.common.checks import ConfigurationError
from allennlp.modules import Seq2SeqEncoder, Seq2VecEncoder
from allennlp.nn.util import get_final_encoder_states, masked_max, masked_mean


@Seq2VecEncoder.register("pooled_seq2seq")
class PooledSeq2SeqEncoder(Seq2VecEncoder):
    """
    Turns any `Seq2SeqEncoder` into a `Seq2VecEncoder` by pooling its outputs, e.g. to use the RCNN
    of Lei et al. (2016) as the classifier encoder of the BeerAdvocate models of
    [Bastings et al. (2019)](https://arxiv.org/abs/1905.08160), appendix B.1.1.

    - `"last"`: the state at the last valid position; for a bidirectional encoder, the forward
      half at the last valid position and the backward half at the first position, concatenated.
    - `"max"` / `"mean"`: element-wise max / mean over the valid positions.

    Registered as a `Seq2VecEncoder` with name "pooled_seq2seq".

    # Parameters

    encoder : `Seq2SeqEncoder`
    pooling : `str`, optional (default = `"last"`)
        `"last"`, `"max"` or `"mean"`.
    """

    def __init__(self, encoder: Seq2SeqEncoder, pooling: str = "last") -> None:
        super().__init__()
        if pooling not in ("last", "max", "mean"):
            raise ConfigurationError(f"pooling must be 'last', 'max' or 'mean', got {pooling!r}")
        self._encoder = encoder
        self._pooling = pooling

    def get_input_dim(self) -> int:
        return self._encoder.get_input_dim()

    def get_output_dim(self) -> int:
        return self._encoder.get_output_dim()

    def forward(self, tokens: torch.Tensor, mask: torch.BoolTensor) -> torch.Tensor:
        # Shape: (batch_size, seq_len, output_dim)
        encoded = self._encoder(tokens, mask)
        # Shape: (batch_size, 1)
        nonempty = mask.any(-1, keepdim=True)
        if self._pooling == "last":
            # Rows without any valid token (an empty rationale) pool to zeros; AllenNLP's
            # helper would index position -1 for them.
            first = torch.zeros_like(mask)
            first[:, :1] = True
            safe_mask = torch.where(nonempty, mask, first)
            final = get_final_encoder_states(encoded, safe_mask, self._encoder.is_bidirectional())
            return final * nonempty
        if self._pooling == "max":
            # Rows without any valid token pool to zeros instead of the fill value.
            pooled = masked_max(encoded, mask.unsqueeze(-1), dim=1)
            return pooled * nonempty
        return masked_mean(encoded, mask.unsqueeze(-1), dim=1)
