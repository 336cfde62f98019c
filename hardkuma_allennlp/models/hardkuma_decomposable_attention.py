from typing import Any, Dict, List, Optional

import torch
from allennlp.common.checks import check_dimensions_match
from allennlp.data import TextFieldTensors, Vocabulary
from allennlp.models.model import Model
from allennlp.modules import FeedForward, Seq2SeqEncoder, TextFieldEmbedder
from allennlp.nn import InitializerApplicator
from allennlp.nn.util import get_text_field_mask
from allennlp_models.pair_classification.models.decomposable_attention import (
    DecomposableAttention,
)

from hardkuma_allennlp.modules.hardkuma_matrix_attention import HardKumaMatrixAttention
from hardkuma_allennlp.training.metrics.selection import Selection


@Model.register("hardkuma_decomposable_attention")
class HardKumaDecomposableAttention(DecomposableAttention):
    """
    The Decomposable Attention model of Parikh et al. (2016) with HardKuma attention, as in
    [Bastings et al. (2019)](https://arxiv.org/abs/1905.08160), section 6.3.

    Attend, compare and aggregate work as in allennlp-models' `decomposable_attention` (which this
    class extends and which is the baseline), except for the alignment: instead of two
    softmax-normalised attention matrices computed from one similarity matrix, a single matrix
    `A` of HardKuma variables (one per premise/hypothesis token pair, from a
    [`hardkuma` matrix attention](../modules/hardkuma_matrix_attention.py)) weighs the tokens
    directly, without normalisation:

        attended_hypothesis_i = sum_j A_ij * hypothesis_j
        attended_premise_j    = sum_i A_ij * premise_i     (the same cells, transposed)

    so a token whose cells are all exactly 0 is aligned with nothing. Sampled in training,
    deterministic in evaluation. The share of non-zero cells is controlled with the `lagrangian`
    trainer callback (`"callbacks": [{"type": "lagrangian", "selection": 0.1}]`), which reads the
    expected rate that the attention module reports.

    This class repeats the baseline's forward pass rather than calling it: that one calls the
    matrix attention without the masks (which HardKuma cells need, to be exactly 0 at padding and
    to leave padding out of the expected rate) and normalises what it returns with a masked
    softmax, with no seam in between to replace either.

    Metrics: `accuracy` and `nonzero_attention`, the share (in [0, 1]) of non-zero attention cells
    among all valid cells (no padding) seen since the last reset.

    The output dictionary adds to the baseline's: `attention`, shape
    `(batch_size, premise_length, hypothesis_length)` (`p2h_attention` is the same tensor and
    `h2p_attention` its transpose, for code written for the baseline).

    Registered as a `Model` with name "hardkuma_decomposable_attention".

    # Parameters

    vocab : `Vocabulary`
    text_field_embedder : `TextFieldEmbedder`
        Embeds the `premise` and `hypothesis` `TextFields`.
    attend_feedforward : `FeedForward`
        Applied to the (encoded) token representations before the attention matrix is computed.
    matrix_attention : `HardKumaMatrixAttention`
        A `hardkuma` matrix attention, whose input dimension is the output dimension of
        `attend_feedforward`.
    compare_feedforward : `FeedForward`
        Applied to each token concatenated with what it is aligned with.
    aggregate_feedforward : `FeedForward`
        Maps the concatenated sums of the compared premise and hypothesis to label logits.
    premise_encoder : `Seq2SeqEncoder`, optional (default = `None`)
        Applied to the embedded premise.
    hypothesis_encoder : `Seq2SeqEncoder`, optional (default = `None`)
        Applied to the embedded hypothesis; `premise_encoder` when `None`.
    initializer : `InitializerApplicator`, optional (default = `InitializerApplicator()`)
        Used to initialize the model parameters.
    """

    def __init__(
        self,
        vocab: Vocabulary,
        text_field_embedder: TextFieldEmbedder,
        attend_feedforward: FeedForward,
        matrix_attention: HardKumaMatrixAttention,
        compare_feedforward: FeedForward,
        aggregate_feedforward: FeedForward,
        premise_encoder: Optional[Seq2SeqEncoder] = None,
        hypothesis_encoder: Optional[Seq2SeqEncoder] = None,
        initializer: InitializerApplicator = InitializerApplicator(),
        **kwargs,
    ) -> None:
        check_dimensions_match(
            attend_feedforward.get_output_dim(),
            matrix_attention.get_input_dim(),
            "attend feedforward output dim",
            "hardkuma matrix attention input dim",
        )
        super().__init__(
            vocab,
            text_field_embedder=text_field_embedder,
            attend_feedforward=attend_feedforward,
            matrix_attention=matrix_attention,
            compare_feedforward=compare_feedforward,
            aggregate_feedforward=aggregate_feedforward,
            premise_encoder=premise_encoder,
            hypothesis_encoder=hypothesis_encoder,
            initializer=initializer,
            **kwargs,
        )
        # The share of non-zero cells among valid cells (the metric of rationale gates, over cells).
        self._nonzero_attention = Selection()

    def forward(  # type: ignore
        self,
        premise: TextFieldTensors,
        hypothesis: TextFieldTensors,
        label: Optional[torch.IntTensor] = None,
        metadata: Optional[List[Dict[str, Any]]] = None,
    ) -> Dict[str, torch.Tensor]:
        """
        # Parameters

        premise : `TextFieldTensors`
            From a `TextField`.
        hypothesis : `TextFieldTensors`
            From a `TextField`.
        label : `torch.IntTensor`, optional (default = `None`)
            From a `LabelField`.
        metadata : `List[Dict[str, Any]]`, optional (default = `None`)
            With `premise_tokens` and `hypothesis_tokens` (token strings), copied to the output.

        # Returns

        An output dictionary with `label_logits`, `label_probs` (shape `(batch_size, num_labels)`),
        `attention` (shape `(batch_size, premise_length, hypothesis_length)`), `p2h_attention`,
        `h2p_attention`, `loss` when `label` is given, and the token lists when `metadata` is.
        """
        # Shape: (batch_size, premise_length, embedding_dim)
        embedded_premise = self._text_field_embedder(premise)
        # Shape: (batch_size, hypothesis_length, embedding_dim)
        embedded_hypothesis = self._text_field_embedder(hypothesis)
        # Shape: (batch_size, premise_length)
        premise_mask = get_text_field_mask(premise)
        # Shape: (batch_size, hypothesis_length)
        hypothesis_mask = get_text_field_mask(hypothesis)

        if self._premise_encoder:
            embedded_premise = self._premise_encoder(embedded_premise, premise_mask)
        if self._hypothesis_encoder:
            embedded_hypothesis = self._hypothesis_encoder(embedded_hypothesis, hypothesis_mask)

        projected_premise = self._attend_feedforward(embedded_premise)
        projected_hypothesis = self._attend_feedforward(embedded_hypothesis)
        # Shape: (batch_size, premise_length, hypothesis_length); exactly 0 in padded cells.
        attention = self._matrix_attention(
            projected_premise,
            projected_hypothesis,
            matrix_1_mask=premise_mask,
            matrix_2_mask=hypothesis_mask,
        )

        # Shape: (batch_size, premise_length, embedding_dim)
        attended_hypothesis = attention.bmm(embedded_hypothesis)
        # Shape: (batch_size, hypothesis_length, embedding_dim)
        attended_premise = attention.transpose(1, 2).bmm(embedded_premise)

        premise_compare_input = torch.cat([embedded_premise, attended_hypothesis], dim=-1)
        hypothesis_compare_input = torch.cat([embedded_hypothesis, attended_premise], dim=-1)

        compared_premise = self._compare_feedforward(premise_compare_input)
        compared_premise = compared_premise * premise_mask.unsqueeze(-1)
        # Shape: (batch_size, compare_dim)
        compared_premise = compared_premise.sum(dim=1)

        compared_hypothesis = self._compare_feedforward(hypothesis_compare_input)
        compared_hypothesis = compared_hypothesis * hypothesis_mask.unsqueeze(-1)
        # Shape: (batch_size, compare_dim)
        compared_hypothesis = compared_hypothesis.sum(dim=1)

        aggregate_input = torch.cat([compared_premise, compared_hypothesis], dim=-1)
        # Shape: (batch_size, num_labels)
        label_logits = self._aggregate_feedforward(aggregate_input)
        label_probs = torch.nn.functional.softmax(label_logits, dim=-1)

        cell_mask = premise_mask.unsqueeze(2) & hypothesis_mask.unsqueeze(1)
        self._nonzero_attention(attention.flatten(1), cell_mask.flatten(1))

        output_dict = {
            "label_logits": label_logits,
            "label_probs": label_probs,
            "attention": attention,
            "p2h_attention": attention,
            "h2p_attention": attention.transpose(1, 2),
        }

        if label is not None:
            output_dict["loss"] = self._loss(label_logits, label.long().view(-1))
            self._accuracy(label_logits, label)

        if metadata is not None:
            output_dict["premise_tokens"] = [x["premise_tokens"] for x in metadata]
            output_dict["hypothesis_tokens"] = [x["hypothesis_tokens"] for x in metadata]

        return output_dict

    def get_metrics(self, reset: bool = False) -> Dict[str, float]:
        metrics = super().get_metrics(reset)
        metrics["nonzero_attention"] = self._nonzero_attention.get_metric(reset)["selected"]
        return metrics

    default_predictor = "hardkuma_attention"
