"""
Predictions in the JSONL format of the ERASER benchmark's scorer (DeYoung et al., 2020; the
format is described in the README of https://github.com/jayded/eraserbenchmark), so that a user
can run ERASER's own `rationale_benchmark/metrics.py` on our output. Pure Python.

One JSON object per input:

    {
      "annotation_id": str,
      "rationales": [{
          "docid": str,
          "hard_rationale_predictions": [{"start_token": int, "end_token": int}, ...],
          "soft_rationale_predictions": [float, ...]          # one per token
      }, ...],                                                # one per document (text field)
      "classification": str,
      "classification_scores": {label: probability},
      "comprehensiveness_classification_scores": {label: probability},
      "sufficiency_classification_scores": {label: probability},
      "thresholded_scores": [{"threshold": float,
                              "comprehensiveness_classification_scores": {...},
                              "sufficiency_classification_scores": {...}}, ...]
    }

`hard_rationale_predictions` are `[start_token, end_token)` spans (end exclusive) of the
rationale; spans of one document never overlap. The comprehensiveness and sufficiency scores are
the model's class distributions with the rationale removed and with the rationale alone; the
`thresholded_scores` are the same for the AOPC bins (top-k % tokens by soft score). Regression
models (BeerAdvocate) have no class distribution: ERASER's format does not cover them, and
`record_to_eraser` refuses them.
"""

import json
import math
from typing import Any, Dict, List, Sequence

from hardkuma_allennlp.interpret.faithfulness import spans_of


class EraserFormatError(ValueError):
    """An ERASER prediction that does not follow the format description."""


def _distribution(labels: Sequence[str], vector: Sequence[float]) -> Dict[str, float]:
    return {label: float(p) for label, p in zip(labels, vector)}


def annotation_id(record: Dict[str, Any], prefix: str = "") -> str:
    """
    The record's `annotation_id`: its input's `id` when it had one (a string as it is, any other
    JSON value as JSON), else its position in the input; `prefix` goes first.
    """
    if record.get("id") is not None:
        value = record["id"]
        return f"{prefix}{value if isinstance(value, str) else json.dumps(value)}"
    return f"{prefix}{record['index']}"


def record_to_eraser(record: Dict[str, Any], prefix: str = "") -> Dict[str, Any]:
    """
    The ERASER prediction of one record of `RationaleEvaluator.evaluate`; its `annotation_id` is
    the input's `id` when it had one (see `annotation_id`).
    """
    if record["regression"]:
        raise EraserFormatError(
            "ERASER's format holds class distributions; a regression model has none"
        )
    labels = list(record["probabilities"])
    identifier = annotation_id(record, prefix)
    rationales = []
    for name, scores in record["scores"].items():
        selected = record["rationale"][name] if record["rationale"] is not None else []
        rationales.append(
            {
                "docid": identifier if len(record["scores"]) == 1 else f"{identifier}_{name}",
                "hard_rationale_predictions": [
                    {"start_token": start, "end_token": end} for start, end in spans_of(selected)
                ],
                "soft_rationale_predictions": [float(s) for s in scores],
            }
        )
    prediction = {
        "annotation_id": identifier,
        "rationales": rationales,
        "classification": str(record["prediction"]),
        "classification_scores": dict(record["probabilities"]),
    }
    outputs = record["outputs"]
    if "without" in outputs:
        prediction["comprehensiveness_classification_scores"] = _distribution(
            labels, outputs["without"]
        )
        prediction["sufficiency_classification_scores"] = _distribution(labels, outputs["only"])
    prediction["thresholded_scores"] = [
        {
            "threshold": float(share),
            "comprehensiveness_classification_scores": _distribution(labels, without),
            "sufficiency_classification_scores": _distribution(labels, only),
        }
        for share, without, only in zip(
            record["bins"], outputs["aopc_without"], outputs["aopc_only"]
        )
    ]
    return prediction


def _check_distribution(value: Any, where: str, labels: Sequence[str] = ()) -> None:
    if not isinstance(value, dict) or not value:
        raise EraserFormatError(f"{where}: expected a non-empty object of label -> probability")
    for label, p in value.items():
        if not isinstance(label, str) or not isinstance(p, (int, float)) or isinstance(p, bool):
            raise EraserFormatError(f"{where}: {label!r}: {p!r} is not a label and a number")
        if not (0.0 <= p <= 1.0) or math.isnan(p):
            raise EraserFormatError(f"{where}: probability of {label!r} is {p}, not in [0, 1]")
    if labels and set(value) != set(labels):
        raise EraserFormatError(f"{where}: labels {sorted(value)} differ from {sorted(labels)}")
    if abs(sum(value.values()) - 1.0) > 1e-3:
        raise EraserFormatError(f"{where}: probabilities sum to {sum(value.values())}, not 1")


def validate(prediction: Dict[str, Any], line: int = 1) -> None:
    """
    Checks one prediction against the format description above (ERASER's README): required
    keys and types, spans inside their document and not overlapping, one soft score per token
    where the document length is known from the hard spans' bound, normalised distributions with
    the same labels, and `classification` among them. Raises `EraserFormatError` naming the line.
    """
    where = f"line {line}"
    if not isinstance(prediction, dict):
        raise EraserFormatError(f"{where}: expected a JSON object")
    if not isinstance(prediction.get("annotation_id"), str):
        raise EraserFormatError(f"{where}: 'annotation_id' must be a string")
    rationales = prediction.get("rationales")
    if not isinstance(rationales, list):
        raise EraserFormatError(f"{where}: 'rationales' must be a list")
    for number, rationale in enumerate(rationales):
        here = f"{where}, rationales[{number}]"
        if not isinstance(rationale, dict) or not isinstance(rationale.get("docid"), str):
            raise EraserFormatError(f"{here}: needs a string 'docid'")
        soft = rationale.get("soft_rationale_predictions")
        if soft is not None:
            if not isinstance(soft, list) or not all(
                isinstance(s, (int, float)) and not isinstance(s, bool) and math.isfinite(s)
                for s in soft
            ):
                raise EraserFormatError(f"{here}: soft_rationale_predictions must be numbers")
        hard = rationale.get("hard_rationale_predictions")
        if hard is not None:
            if not isinstance(hard, list):
                raise EraserFormatError(f"{here}: hard_rationale_predictions must be a list")
            previous_end = 0
            for span in sorted(hard, key=lambda s: s.get("start_token", -1)):
                start, end = span.get("start_token"), span.get("end_token")
                if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end):
                    raise EraserFormatError(f"{here}: bad span {span} (need 0 <= start < end)")
                if start < previous_end:
                    raise EraserFormatError(f"{here}: span {span} overlaps the previous one")
                if soft is not None and end > len(soft):
                    raise EraserFormatError(
                        f"{here}: span {span} ends after the document's {len(soft)} tokens"
                    )
                previous_end = end
    labels: List[str] = []
    if "classification_scores" in prediction:
        _check_distribution(prediction["classification_scores"], f"{where}: classification_scores")
        labels = list(prediction["classification_scores"])
        if prediction.get("classification") not in labels:
            raise EraserFormatError(f"{where}: 'classification' must be one of {labels}")
    for key in ("comprehensiveness_classification_scores", "sufficiency_classification_scores"):
        if key in prediction:
            _check_distribution(prediction[key], f"{where}: {key}", labels)
    if "thresholded_scores" in prediction:
        if not labels:
            raise EraserFormatError(f"{where}: thresholded_scores need classification_scores")
        for entry in prediction["thresholded_scores"]:
            threshold = entry.get("threshold")
            if not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
                raise EraserFormatError(f"{where}: threshold {threshold!r} not in (0, 1]")
            for key in (
                "comprehensiveness_classification_scores",
                "sufficiency_classification_scores",
            ):
                _check_distribution(entry.get(key), f"{where}: thresholded {key}", labels)
