from typing import Any, Dict, List, Optional

import torch
from allennlp.common.checks import ConfigurationError, check_dimensions_match
from allennlp.data import TextFieldTensors, Vocabulary
from allennlp.models.model import Model
from allennlp.modules import FeedForward, Seq2VecEncoder, TextFieldEmbedder
from allennlp.nn import InitializerApplicator
from allennlp.nn.util import dist_reduce_sum, get_text_field_mask
from allennlp.training.metrics import CategoricalAccuracy

from hardkuma_allennlp.modules.seq2vec_encoders.latent_rationale_encoder import (
    RationaleEncoding,
)
from hardkuma_allennlp.training.metrics.rationale_f1 import RationaleF1
from hardkuma_allennlp.training.metrics.selection import Selection


@Model.register("rationale_model")
class RationaleModel(Model):
    """
    A text classifier or regressor that justifies each prediction with a rationale
    ([Bastings et al., 2019](https://arxiv.org/abs/1905.08160), section 5): embedder ->
    `latent_rationale` encoder (a gate selects tokens, a classifier encoder reads the selection)
    -> optional feed-forward -> output layer.

    - `task="classification"`: softmax over the labels of `label_namespace`, cross-entropy loss,
      accuracy.
    - `task="regression"`: `num_targets` sigmoid outputs in [0, 1], mean squared error (averaged
      over targets), reported as `mse`.

    The encoder says what it selected through `encode_rationale` (a `RationaleEncoding`; the
    `latent_rationale` encoder has it). With any other `Seq2VecEncoder` (e.g. a plain LSTM) it is
    the full-text baseline: every token counts as selected. The output carries the per-token
    gates `z` (and, with a gate, its soft scores `gate_scores`, P(z != 0)); metrics include the
    share of selected tokens (`selected`, z != 0) and the shares of z exactly 0, in (0, 1) and
    exactly 1.
    With a `gold_rationale` input (a 0/1 mask per token; -1 marks instances without gold spans)
    it also reports rationale precision, recall and F1 against it.

    The Lagrangian constraint on the selection rate is not part of the model: add the
    `lagrangian` trainer callback. A Bernoulli gate's REINFORCE loss is added here.

    Registered as a `Model` with name "rationale_model".

    # Parameters

    vocab : `Vocabulary`
    text_field_embedder : `TextFieldEmbedder`
        Embeds the `tokens` field.
    encoder : `Seq2VecEncoder`
        Usually a `latent_rationale` encoder.
    task : `str`, optional (default = `"classification"`)
        `"classification"` or `"regression"`.
    feedforward : `FeedForward`, optional (default = `None`)
        Applied to the encoder output before the output layer.
    dropout : `float`, optional (default = `0.0`)
        Dropout on the embeddings and before the output layer.
    embedding_dropout : `float`, optional (default = `None`)
        Dropout on the embeddings alone, if not `dropout` (e.g. 0 where the `latent_rationale`
        encoder has its own dropout on the gate's and the classifier's inputs).
    num_targets : `int`, optional (default = `None`)
        Number of regression outputs (required for regression; classification uses the size of
        `label_namespace`).
    label_namespace : `str`, optional (default = `"labels"`)
    namespace : `str`, optional (default = `"tokens"`)
        Vocabulary namespace of the tokens, for human-readable output.
    initializer : `InitializerApplicator`, optional
    """

    def __init__(
        self,
        vocab: Vocabulary,
        text_field_embedder: TextFieldEmbedder,
        encoder: Seq2VecEncoder,
        task: str = "classification",
        feedforward: Optional[FeedForward] = None,
        dropout: float = 0.0,
        embedding_dropout: Optional[float] = None,
        num_targets: Optional[int] = None,
        label_namespace: str = "labels",
        namespace: str = "tokens",
        initializer: InitializerApplicator = InitializerApplicator(),
        **kwargs,
    ) -> None:
        super().__init__(vocab, **kwargs)
        if task not in ("classification", "regression"):
            raise ConfigurationError(f"task must be 'classification' or 'regression', got {task!r}")
        if task == "regression" and not num_targets:
            raise ConfigurationError("a regression rationale_model needs num_targets")
        embedding_dim, encoder_dim = text_field_embedder.get_output_dim(), encoder.get_input_dim()
        check_dimensions_match(embedding_dim, encoder_dim, "embedder output", "encoder input")
        self._text_field_embedder = text_field_embedder
        self._encoder = encoder
        self._feedforward = feedforward
        self._dropout = torch.nn.Dropout(dropout)
        self._embedding_dropout = torch.nn.Dropout(
            dropout if embedding_dropout is None else embedding_dropout
        )
        self._task = task
        self._label_namespace = label_namespace
        self._namespace = namespace
        if task == "classification":
            num_targets = vocab.get_vocab_size(label_namespace)
            if num_targets < 2:
                labels = list(vocab.get_token_to_index_vocabulary(label_namespace))
                raise ConfigurationError(
                    f"rationale_model: a classifier needs at least two classes, but the "
                    f"vocabulary's {label_namespace!r} namespace has {num_targets} "
                    f"({', '.join(map(repr, labels)) or 'none'}): "
                    + (
                        "check the training data's label column (every instance has the same "
                        "label)"
                        if labels
                        else "labels read with fixed indices (as the beer_advocate reader's "
                        "binarize gives) are named by the config's vocabulary, e.g. "
                        '"vocabulary": {"type": "from_instances", "tokens_to_add": '
                        '{"labels": ["negative", "positive"]}}'
                    )
                )
        hidden_dim = feedforward.get_output_dim() if feedforward else encoder.get_output_dim()
        self._output_layer = torch.nn.Linear(hidden_dim, num_targets)
        self._selection = Selection()
        self._rationale = RationaleF1()
        if task == "classification":
            self._accuracy = CategoricalAccuracy()
        else:
            self._squared_error_sum = 0.0
            self._squared_error_count = 0
        initializer(self)

    def forward(  # type: ignore
        self,
        tokens: TextFieldTensors,
        label: Optional[torch.Tensor] = None,
        gold_rationale: Optional[torch.Tensor] = None,
        metadata: Optional[List[Dict[str, Any]]] = None,
    ) -> Dict[str, torch.Tensor]:
        # Shape: (batch_size, seq_len)
        mask = get_text_field_mask(tokens)
        # Shape: (batch_size, seq_len, embedding_dim)
        embedded = self._embedding_dropout(self._text_field_embedder(tokens))
        # Shape: (batch_size, encoder_dim) and, for z and scores, (batch_size, seq_len)
        encoded, z, scores, gate_loss = self._encode(embedded, mask)
        if self._feedforward is not None:
            encoded = self._feedforward(encoded)
        # Shape: (batch_size, num_targets)
        logits = self._output_layer(self._dropout(encoded))

        output_dict: Dict[str, Any] = {"logits": logits, "z": z, "mask": mask}
        if scores is not None:
            # Shape: (batch_size, seq_len): P(z != 0) of each token.
            output_dict["gate_scores"] = scores
        if self._task == "classification":
            output_dict["probs"] = torch.softmax(logits, dim=-1)
        else:
            output_dict["predictions"] = torch.sigmoid(logits)
        if metadata is not None:
            output_dict["tokens"] = [m["tokens"] for m in metadata]
            if all("word_labels" in m for m in metadata):
                # SST: the leaf sentiment of each word, for analyses of what rationales drop.
                output_dict["word_labels"] = [m["word_labels"] for m in metadata]

        self._selection(z, mask)
        if gold_rationale is not None:
            self._rationale(z, gold_rationale, mask)
        if label is not None:
            if self._task == "classification":
                # Shape: (batch_size,)
                per_instance = torch.nn.functional.cross_entropy(
                    logits, label.long().view(-1), reduction="none"
                )
                self._accuracy(logits, label)
            else:
                predictions = output_dict["predictions"]
                target = label.view_as(predictions).to(predictions.dtype)
                squared_errors = (predictions - target) ** 2
                per_instance = squared_errors.mean(-1)
                self._squared_error_sum += float(squared_errors.detach().sum())
                self._squared_error_count += target.numel()
            loss = per_instance.mean()
            extra_loss = gate_loss(per_instance) if self.training and gate_loss else None
            if extra_loss is not None:
                loss = loss + extra_loss
            output_dict["loss"] = loss
        return output_dict

    def _encode(self, embedded: torch.Tensor, mask: torch.BoolTensor) -> RationaleEncoding:
        """The encoder's `encode_rationale`, or for an encoder without one, the whole text."""
        encode_rationale = getattr(self._encoder, "encode_rationale", None)
        if encode_rationale is not None:
            return encode_rationale(embedded, mask)
        return RationaleEncoding(self._encoder(embedded, mask), mask.to(embedded.dtype), None)

    def make_output_human_readable(
        self, output_dict: Dict[str, torch.Tensor]
    ) -> Dict[str, torch.Tensor]:
        """
        Adds, per instance: `label` (classification) or `score` (regression), `tokens` (when the
        input had metadata), `z` trimmed to the tokens, `rationale` (the selected tokens, z != 0)
        and `highlight` (the text with selected tokens in [brackets]).
        """
        lengths = output_dict["mask"].sum(-1).tolist()
        for key in ("z", "gate_scores"):
            if key in output_dict:
                rows = output_dict[key].tolist()
                output_dict[key] = [row[:length] for row, length in zip(rows, lengths)]
        z_rows = output_dict["z"]
        if self._task == "classification":
            labels = self.vocab.get_index_to_token_vocabulary(self._label_namespace)
            output_dict["label"] = [
                labels[int(index)] for index in output_dict["probs"].argmax(-1).tolist()
            ]
        else:
            output_dict["score"] = output_dict["predictions"].tolist()
        if "tokens" in output_dict:
            output_dict["rationale"] = [
                [token for token, g in zip(tokens, z) if g != 0]
                for tokens, z in zip(output_dict["tokens"], z_rows)
            ]
            output_dict["highlight"] = [
                " ".join(f"[{token}]" if g != 0 else token for token, g in zip(tokens, z))
                for tokens, z in zip(output_dict["tokens"], z_rows)
            ]
        del output_dict["mask"]
        return output_dict

    def get_metrics(self, reset: bool = False) -> Dict[str, float]:
        metrics = dict(self._selection.get_metric(reset))
        if self._task == "classification":
            metrics["accuracy"] = self._accuracy.get_metric(reset)
        else:
            count = dist_reduce_sum(self._squared_error_count)
            metrics["mse"] = dist_reduce_sum(self._squared_error_sum) / max(count, 1)
            if reset:
                self._squared_error_sum, self._squared_error_count = 0.0, 0
        rationale = self._rationale.get_metric(reset)
        if rationale["num_reviews"] > 0:  # only where gold rationales were seen
            for name, value in rationale.items():
                metrics[f"rationale_{name}"] = value
        return metrics

    default_predictor = "rationale"
