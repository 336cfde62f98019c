from typing import Dict, Optional

import torch
from allennlp.common.checks import check_dimensions_match
from allennlp.modules import FeedForward
from allennlp.modules.matrix_attention.matrix_attention import MatrixAttention

from hardkuma_allennlp.distributions import HardKumaraswamy, expected_l0
from hardkuma_allennlp.modules.gate_decoders import GateDecoder, PaperDecoder
from hardkuma_allennlp.modules.hardkuma_shape import HardKumaShape, sample_or_decode
from hardkuma_allennlp.modules.penalty_reporter import PenaltyReporter


@MatrixAttention.register("hardkuma")
class HardKumaMatrixAttention(MatrixAttention, PenaltyReporter):
    """
    HardKuma attention of [Bastings et al. (2019)](https://arxiv.org/abs/1905.08160), section 6.3:
    every cell `(i, j)` of the `(rows of matrix_1) x (rows of matrix_2)` matrix is its own HardKuma
    variable (a stretched and rectified Kumaraswamy, so exactly 0, exactly 1, or in between), whose
    two shape parameters come from two learned similarity functions:

        a_ij = clamp(softplus(f_a(x_i) . f_a(y_j)), min_shape, max_shape)
        b_ij = clamp(softplus(f_b(x_i) . f_b(y_j)), min_shape, max_shape)

    with `f_a`, `f_b` feed-forward networks applied to the rows of both matrices. In training mode
    the cells are reparameterised samples (`rsample`); in evaluation mode the `decoding` rule sets
    them (by default the paper's: 0, 1, or the mean of the continuous part, whichever is most
    probable). The output is not normalised (no softmax): a cell that is exactly 0 means
    "not aligned", and a whole row of zeros is allowed.

    Masks. `MatrixAttention.forward` receives only the two matrices; this module takes the masks
    as two optional keyword arguments, `matrix_1_mask` and `matrix_2_mask` (shape
    `(batch_size, num_rows)`, true for real tokens), which `hardkuma_decomposable_attention`
    passes. Without them every row counts as valid. Cells with a padded row or column are exactly
    zero and are left out of the expected rate.

    Penalties. Being a [`PenaltyReporter`](penalty_reporter.py), each forward pass stores
    `expected_penalties()["selection"]`: the expected share of non-zero cells among the valid cells
    of each example (`E[#cells != 0] / #valid cells`, with `P(cell != 0) = 1 - P(cell = 0)`),
    averaged over the batch; it is differentiable, so the `lagrangian` trainer callback can hold
    it at a target rate. `distribution(matrix_1, matrix_2)` gives the cells' distribution.

    Registered as a `MatrixAttention` with name "hardkuma", and under the same name (its default)
    as a `HardKumaMatrixAttention`, so that a constructor argument typed with this class reads
    the same config, `type: "hardkuma"` or none.

    # Parameters

    a_feedforward : `FeedForward`
        `f_a`, applied to the rows of both matrices; the dot products of its outputs give `a`.
    b_feedforward : `FeedForward`
        `f_b`, the same for `b`. Must have the same input dimension as `a_feedforward`.
    shape : `HardKumaShape`, optional (default = `HardKumaShape()`)
        Stretched support of the cells and the range `[min_shape, max_shape]` to which `a` and
        `b` are clamped (very small shapes make sampling numerically unstable).
    decoding : `GateDecoder`, optional (default = `"paper"`)
        The test-time rule, applied to each row (one premise token against the hypothesis):
        "paper", "threshold", "top_k" (the same share of every row) or "spans".
    """

    default_implementation = "hardkuma"
    penalty_names = ("selection",)
    selection_metric = "nonzero_attention"

    def __init__(
        self,
        a_feedforward: FeedForward,
        b_feedforward: FeedForward,
        shape: Optional[HardKumaShape] = None,
        decoding: Optional[GateDecoder] = None,
    ) -> None:
        super().__init__()
        self.decoding = decoding if decoding is not None else PaperDecoder()
        a_dim, b_dim = a_feedforward.get_input_dim(), b_feedforward.get_input_dim()
        check_dimensions_match(a_dim, b_dim, "a_feedforward input dim", "b_feedforward input dim")
        self._a_feedforward = a_feedforward
        self._b_feedforward = b_feedforward
        self._hardkuma = shape or HardKumaShape()
        self._expected_penalties: Dict[str, torch.Tensor] = {}

    def get_input_dim(self) -> int:
        return self._a_feedforward.get_input_dim()

    @staticmethod
    def _similarity(feedforward: FeedForward, matrix_1: torch.Tensor, matrix_2: torch.Tensor):
        # Shape: (batch_size, num_rows_1, num_rows_2)
        return feedforward(matrix_1).matmul(feedforward(matrix_2).transpose(-1, -2))

    def distribution(self, matrix_1: torch.Tensor, matrix_2: torch.Tensor) -> HardKumaraswamy:
        """The HardKuma distribution of every cell, shape `(batch_size, num_rows_1, num_rows_2)`."""
        return self._hardkuma.distribution(
            self._similarity(self._a_feedforward, matrix_1, matrix_2),
            self._similarity(self._b_feedforward, matrix_1, matrix_2),
        )

    def forward(
        self,
        matrix_1: torch.Tensor,
        matrix_2: torch.Tensor,
        matrix_1_mask: Optional[torch.Tensor] = None,
        matrix_2_mask: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """
        # Parameters

        matrix_1 : `torch.Tensor`
            Shape `(batch_size, num_rows_1, input_dim)`.
        matrix_2 : `torch.Tensor`
            Shape `(batch_size, num_rows_2, input_dim)`.
        matrix_1_mask : `torch.BoolTensor`, optional
            Shape `(batch_size, num_rows_1)`, true for valid rows. Default: all valid.
        matrix_2_mask : `torch.BoolTensor`, optional
            Shape `(batch_size, num_rows_2)`, true for valid rows. Default: all valid.

        # Returns

        `torch.Tensor`
            Shape `(batch_size, num_rows_1, num_rows_2)`, values in [0, 1], exactly 0 in padded
            cells.
        """
        batch_size, num_rows_1, _ = matrix_1.shape
        num_rows_2 = matrix_2.size(1)
        if matrix_1_mask is None:
            matrix_1_mask = matrix_1.new_ones((batch_size, num_rows_1), dtype=torch.bool)
        if matrix_2_mask is None:
            matrix_2_mask = matrix_2.new_ones((batch_size, num_rows_2), dtype=torch.bool)
        # Shape: (batch_size, num_rows_1, num_rows_2)
        cell_mask = matrix_1_mask.bool().unsqueeze(2) & matrix_2_mask.bool().unsqueeze(1)

        if self.training:
            self.warn_if_unconstrained()
        dist = self.distribution(matrix_1, matrix_2)
        # Shape: (batch_size, num_rows_1, num_rows_2)
        attention = sample_or_decode(dist, cell_mask, self.decoding, self.training)

        flat_mask = cell_mask.flatten(1)
        # Shape: (batch_size,)
        expected_nonzero = expected_l0(dist.prob_zero().flatten(1), flat_mask)
        valid_cells = flat_mask.sum(-1).clamp(min=1)
        self._expected_penalties = {"selection": (expected_nonzero / valid_cells).mean()}
        return attention


HardKumaMatrixAttention.register("hardkuma")(HardKumaMatrixAttention)
