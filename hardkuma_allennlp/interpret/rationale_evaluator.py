"""
Runs a trained model to get, for every input, its prediction, its rationale, token scores, and the
model's outputs on reduced inputs (the rationale removed, the rationale alone, and the AOPC bins),
from which `faithfulness` computes ERASER's measures.

What a model's *rationale* and *scores* are:

- a `rationale_model` with a gate (HardKuma, dependent HardKuma, Bernoulli), or another model
  (AllenNLP's `basic_classifier`) with a `latent_rationale` encoder: the rationale is the
  tokens whose decoded gate is non-zero (with the model's test-time decoding, which a config
  override can change); the scores are the gate's `P(z != 0)`;
- a `rationale_model` without a gate (the full-text baseline): it has no rationale of its own
  (comprehensiveness and sufficiency at the model's rationale are left out); tokens are ranked
  by gradient x input (the dot product of a token's embedding with the gradient of the predicted
  class's log-probability, or of the predicted score, with respect to it);
- a model with an `attention` output over a `premise` and a `hypothesis` (HardKuma attention,
  SNLI): a token is in the rationale when any of its attention cells is non-zero, and its score is
  its largest attention weight.

A reduced input is built from the instance itself: each text field keeps only the chosen tokens
(the other fields, labels, gold rationales and metadata, are dropped), and the model runs on it
whole, gate included, as ERASER prescribes. A text field reduced to nothing gets one unknown token
(`@@UNKNOWN@@`) instead, since the models cannot read an empty text.
"""

from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence

import numpy
import torch
from allennlp.common.checks import ConfigurationError
from allennlp.common.tqdm import Tqdm
from allennlp.data import Batch, Instance, Token
from allennlp.data.fields import LabelField, TextField
from allennlp.models import Model
from allennlp.modules import TextFieldEmbedder
from allennlp.nn import util

from hardkuma_allennlp.interpret import faithfulness
from hardkuma_allennlp.modules.seq2vec_encoders.latent_rationale_encoder import (
    LatentRationaleEncoder,
)

UNKNOWN = "@@UNKNOWN@@"


class RationaleEvaluator:
    """
    Computes rationale records (plain dicts, see `evaluate`) for a trained model.

    # Parameters

    model : `Model`
        A `rationale_model` (with or without a gate), a classifier with one `latent_rationale`
        encoder (e.g. AllenNLP's `basic_classifier`), a model without gates (explained by gradient
        x input), or a model with HardKuma (or softmax) attention over `premise` and `hypothesis`
        fields.
    batch_size : `int`, optional (default = `32`)
    bins : `Sequence[float]`, optional (default = `faithfulness.AOPC_BINS`)
    """

    def __init__(
        self,
        model: Model,
        batch_size: int = 32,
        bins: Sequence[float] = faithfulness.AOPC_BINS,
    ) -> None:
        self.model = model
        self.batch_size = batch_size
        self.bins = tuple(bins)
        self.model.eval()
        encoders = [m for m in model.modules() if isinstance(m, LatentRationaleEncoder)]
        if len(encoders) > 1:
            raise ConfigurationError(
                f"rationales: {type(model).__name__} has {len(encoders)} latent_rationale "
                "encoders; only a model with one gated text is supported"
            )
        self._gate = encoders[0].gate if encoders else None
        vocab = model.vocab
        # The class names: the model's label namespace (basic_classifier's `label_namespace`).
        namespace = getattr(model, "_label_namespace", "labels")
        self.labels = (
            vocab.get_index_to_token_vocabulary(namespace)
            if namespace in vocab.get_namespaces()
            else {}
        )

    # The model's outputs.

    def _forward(self, instances: List[Instance]) -> Dict[str, Any]:
        batch = Batch(instances)
        batch.index_instances(self.model.vocab)
        tensors = util.move_to_device(batch.as_tensor_dict(), self.model._get_prediction_device())
        if self._gate is None:
            with torch.no_grad():
                return self.model(**tensors)
        # A gated encoder inside a model that does not output its gates (AllenNLP's
        # basic_classifier): the gates of this pass, as the rationale_model outputs them.
        gated: List[Any] = []
        handle = self._gate.register_forward_hook(lambda module, inputs, out: gated.append(out))
        try:
            with torch.no_grad():
                output = self.model(**tensors)
        finally:
            handle.remove()
        if "z" not in output:
            if not gated:
                raise ConfigurationError(
                    f"rationales: {type(self.model).__name__} has a latent_rationale encoder that "
                    "its forward pass does not run, so its rationales cannot be read"
                )
            # Shape: (batch_size, seq_len), each.
            output["z"], output["gate_scores"] = gated[-1].z, gated[-1].scores
        return output

    @staticmethod
    def _text_fields(instance: Instance) -> List[str]:
        return [name for name, field in instance.fields.items() if isinstance(field, TextField)]

    def _outcome(self, output: Dict[str, Any]) -> torch.Tensor:
        """Probabilities (classification) or predicted scores (regression) of a batch."""
        for key in ("probs", "label_probs", "predictions"):
            if key in output:
                return output[key].detach().cpu()
        raise ConfigurationError(
            f"{type(self.model).__name__} gives none of 'probs', 'label_probs', 'predictions'"
        )

    def _regression(self, output: Dict[str, Any]) -> bool:
        return "probs" not in output and "label_probs" not in output

    def _gradient_times_input(self, instances: List[Instance]) -> torch.Tensor:
        """Per-token gradient x input of the predicted class's log-probability (or score)."""
        embedders = [m for m in self.model.modules() if isinstance(m, TextFieldEmbedder)]
        if not embedders:
            raise ConfigurationError("gradient x input needs a model with a TextFieldEmbedder")
        captured: List[torch.Tensor] = []

        def hook(module, inputs, output):
            # Frozen word vectors (the SST and Beer configs) give an output without a graph:
            # make it a leaf that collects the gradient; otherwise keep the graph as it is.
            if not output.requires_grad:
                output = output.detach().requires_grad_()
            else:
                output.retain_grad()
            captured.append(output)
            return output

        handle = embedders[0].register_forward_hook(hook)
        try:
            batch = Batch(instances)
            batch.index_instances(self.model.vocab)
            device = self.model._get_prediction_device()
            tensors = util.move_to_device(batch.as_tensor_dict(), device)
            with torch.enable_grad():
                output = self.model(**tensors)
                if self._regression(output):
                    target = output["predictions"][:, 0]
                else:
                    log_probs = torch.log_softmax(output["logits"], dim=-1)
                    target = log_probs.gather(1, log_probs.argmax(-1, keepdim=True))
                target.sum().backward()
        finally:
            handle.remove()
            self.model.zero_grad(set_to_none=True)
        embedded = captured[0]
        # Shape: (batch_size, seq_len)
        return (embedded.grad * embedded).sum(-1).detach().cpu()

    # Reduced inputs.

    @staticmethod
    def reduce(instance: Instance, keep: Dict[str, Sequence[bool]]) -> Instance:
        """A copy of `instance` whose text fields keep only the tokens marked True in `keep`."""
        fields = {}
        for name, field in instance.fields.items():
            if isinstance(field, TextField):
                tokens = [t for t, k in zip(field.tokens, keep[name]) if k] or [Token(UNKNOWN)]
                fields[name] = TextField(tokens, field.token_indexers)
        return Instance(fields)

    # Records.

    def evaluate(
        self, instances: Iterable[Instance], total: Optional[int] = None
    ) -> Iterator[Dict]:
        """
        Yields one record per instance, with `tokens` (per text field), `prediction`,
        `probabilities` (classification) or `score` (regression), `gold_label`, `rationale`,
        `gates` (the decoded gate values, or each token's largest attention weight; None for a
        model without gates) and `scores` (per text field), `gold_rationale` (where the instance
        has one), `attention` (attention models), and the model's outputs on reduced inputs:
        `full`, `without`, `only` (None for a model without its own rationale), `aopc_without`
        and `aopc_only` (one value per bin) and, for the ERASER export, the full output
        vectors of each.
        """
        batch: List[Instance] = []
        progress = Tqdm.tqdm(instances, total=total, desc="rationales")
        index = 0
        for instance in progress:
            batch.append(instance)
            if len(batch) == self.batch_size:
                yield from self._evaluate_batch(batch, index)
                index += len(batch)
                batch = []
        if batch:
            yield from self._evaluate_batch(batch, index)
        self.model.get_metrics(reset=True)

    def _evaluate_batch(self, instances: List[Instance], first_index: int) -> List[Dict]:
        output = self._forward(instances)
        regression = self._regression(output)
        outcome = self._outcome(output)
        records = []
        field_names = self._text_fields(instances[0])
        gradient_scores = None
        if "gate_scores" not in output and "attention" not in output:
            gradient_scores = self._gradient_times_input(instances)
        for row, instance in enumerate(instances):
            lengths = {n: len(instance.fields[n].tokens) for n in field_names}
            tokens = {n: [t.text for t in instance.fields[n].tokens] for n in field_names}
            rationale: Optional[Dict[str, List[bool]]]
            if "attention" in output:
                first, second = field_names[0], field_names[1]
                matrix = output["attention"][row].detach().cpu().numpy()
                matrix = matrix[: lengths[first], : lengths[second]]
                rationale = {
                    first: (matrix != 0).any(1).tolist(),
                    second: (matrix != 0).any(0).tolist(),
                }
                scores = {first: matrix.max(1).tolist(), second: matrix.max(0).tolist()}
                gates = scores
            else:
                name = field_names[0]
                length = lengths[name]
                if "gate_scores" in output:
                    z = output["z"][row, :length].detach().cpu()
                    rationale = {name: (z != 0).tolist()}
                    gates = {name: z.tolist()}
                    scores = {name: output["gate_scores"][row, :length].detach().cpu().tolist()}
                else:
                    rationale, gates = None, None
                    scores = {name: gradient_scores[row, :length].tolist()}
            vector = outcome[row]
            record: Dict[str, Any] = {
                "index": first_index + row,
                "tokens": tokens,
                "rationale": rationale,
                "gates": gates,
                "scores": scores,
                "regression": regression,
                "bins": list(self.bins),
            }
            if "attention" in output:
                record["attention"] = matrix.tolist()
            if regression:
                predicted = 0
                record["score"] = float(vector[0])
                record["prediction"] = float(vector[0])
            else:
                predicted = int(vector.argmax())
                record["prediction"] = self.labels.get(predicted, str(predicted))
                record["probabilities"] = {
                    self.labels.get(i, str(i)): float(p) for i, p in enumerate(vector)
                }
            record["predicted_index"] = predicted
            record["outputs"] = {"full": vector.tolist()}
            record["gold_label"] = self._gold_label(instance)
            gold = instance.fields.get("gold_rationale")
            if gold is not None:
                array = _as_array(gold)[: lengths[field_names[0]]]
                # Instances without gold spans for the aspect are marked -1 everywhere.
                if len(array) and (array >= 0).all():
                    record["gold_rationale"] = {field_names[0]: (array > 0).tolist()}
            records.append(record)
        self._reduced_outputs(instances, records, field_names)
        return records

    def _gold_label(self, instance: Instance) -> Any:
        label = instance.fields.get("label")
        if isinstance(label, LabelField):
            return label.label
        if label is not None:
            values = _as_array(label).tolist()
            return values[0] if isinstance(values, list) and len(values) == 1 else values
        return None

    def _reduced_outputs(
        self, instances: List[Instance], records: List[Dict], field_names: List[str]
    ) -> None:
        """Runs the model on every reduced input of the batch and fills in the records."""
        reduced: List[Instance] = []
        slots: List[tuple] = []  # (record, key, bin or None)
        for instance, record in zip(instances, records):
            if record["rationale"] is not None:
                kept = record["rationale"]
                removed = {n: [not k for k in kept[n]] for n in field_names}
                reduced += [self.reduce(instance, removed), self.reduce(instance, kept)]
                slots += [(record, "without", None), (record, "only", None)]
            # The AOPC bins rank all tokens of all text fields together.
            flat = [s for n in field_names for s in record["scores"][n]]
            for share in self.bins:
                chosen = faithfulness.top_k_rationale(flat, share)
                keep, removed, offset = {}, {}, 0
                for n in field_names:
                    length = len(record["scores"][n])
                    keep[n] = chosen[offset : offset + length]
                    removed[n] = [not k for k in keep[n]]
                    offset += length
                reduced += [self.reduce(instance, removed), self.reduce(instance, keep)]
                slots += [(record, "aopc_without", share), (record, "aopc_only", share)]
        vectors: List[List[float]] = []
        for start in range(0, len(reduced), self.batch_size):
            chunk = reduced[start : start + self.batch_size]
            vectors += self._outcome(self._forward(chunk)).tolist()
        for (record, key, share), vector in zip(slots, vectors):
            if share is None:
                record["outputs"][key] = vector
            else:
                record["outputs"].setdefault(key, []).append(vector)
        for record in records:
            predicted, regression = record["predicted_index"], record["regression"]
            outputs = record["outputs"]
            full = outputs["full"][predicted]
            record["full"] = full
            if record["rationale"] is not None:
                record["without"] = outputs["without"][predicted]
                record["only"] = outputs["only"][predicted]
                record["comprehensiveness"] = faithfulness.change(
                    full, record["without"], regression
                )
                record["sufficiency"] = faithfulness.change(full, record["only"], regression)
            record["aopc_without"] = [v[predicted] for v in outputs["aopc_without"]]
            record["aopc_only"] = [v[predicted] for v in outputs["aopc_only"]]
            record["aopc_comprehensiveness"] = faithfulness.aopc(
                full, record["aopc_without"], regression
            )
            record["aopc_sufficiency"] = faithfulness.aopc(full, record["aopc_only"], regression)


def summarize(records: Sequence[Dict], bins: Sequence[float] = faithfulness.AOPC_BINS) -> Dict:
    """Corpus-level metrics of a list of records (means over inputs; agreement where gold
    rationales exist)."""
    if not records:
        raise ConfigurationError("no inputs to summarize")
    summary: Dict[str, Any] = {"inputs": len(records), "aopc_bins": list(bins)}
    with_rationale = [r for r in records if r["rationale"] is not None]
    if with_rationale:
        selected = sum(sum(sum(v) for v in r["rationale"].values()) for r in with_rationale)
        tokens = sum(sum(len(v) for v in r["rationale"].values()) for r in with_rationale)
        summary["selected"] = selected / tokens if tokens else 0.0
        for key in ("comprehensiveness", "sufficiency"):
            summary[key] = faithfulness.mean([r[key] for r in with_rationale])
    for key in ("aopc_comprehensiveness", "aopc_sufficiency"):
        summary[key] = faithfulness.mean([r[key] for r in records])
    labelled = [r for r in records if r.get("gold_label") is not None]
    if labelled and not records[0]["regression"]:
        correct = sum(1 for r in labelled if str(r["prediction"]) == str(r["gold_label"]))
        summary["accuracy"] = correct / len(labelled)
    elif labelled:
        errors = [(r["prediction"] - float(_scalar(r["gold_label"]))) ** 2 for r in labelled]
        summary["mse"] = faithfulness.mean(errors)
    gold = [r for r in with_rationale if "gold_rationale" in r]
    if gold:
        predicted_rows, gold_rows = [], []
        for record in gold:
            for name, row in record["gold_rationale"].items():
                predicted_rows.append(record["rationale"][name])
                gold_rows.append(row)
        summary["gold_inputs"] = len(gold)
        for key, value in faithfulness.token_agreement(predicted_rows, gold_rows).items():
            summary[f"token_{key}"] = value
        for key, value in faithfulness.iou_f1(predicted_rows, gold_rows).items():
            summary[f"iou_{key}"] = value
    return summary


def _as_array(field: Any) -> numpy.ndarray:
    """The values of a `TensorField` (or the older `ArrayField`)."""
    values = field.tensor if hasattr(field, "tensor") else field.array
    return numpy.asarray(values)


def _scalar(value: Any) -> float:
    if isinstance(value, (list, tuple)):
        return float(value[0])
    return float(value)
