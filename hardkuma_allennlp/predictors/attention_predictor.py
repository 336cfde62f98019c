from typing import Any, Dict, List

import numpy
from allennlp.common.util import JsonDict, sanitize
from allennlp.data import Instance
from allennlp.predictors.predictor import Predictor
from allennlp_models.pair_classification.predictors.textual_entailment import (
    TextualEntailmentPredictor,
)

from hardkuma_allennlp.predictors.input_lines import InputLineCounter


@Predictor.register("hardkuma_attention")
class HardKumaAttentionPredictor(InputLineCounter, TextualEntailmentPredictor):
    """
    Predicts the entailment label of a premise/hypothesis pair and returns the attention matrix
    with both token lists, ready to draw as a heatmap (the figures of
    [Bastings et al. (2019)](https://arxiv.org/abs/1905.08160), section 6.3; see
    `hardkuma_allennlp.interpret.attention_heatmap`).

    Input: `{"premise": "...", "hypothesis": "..."}` (as allennlp-models' `textual_entailment`
    predictor, which this class extends). Tokenization is the dataset reader's from the model
    archive; the `hardkuma_snli` reader's default tokenizer needs no spaCy model, so nothing is
    downloaded.

    Output: `label`, `probabilities` (`{label: probability}`), `label_probs` (list, in the
    vocabulary's label order), `premise_tokens`, `hypothesis_tokens`, `attention` (a
    `len(premise_tokens) x len(hypothesis_tokens)` list of rows, no padding) and
    `nonzero_attention` (share of non-zero cells). Works for `hardkuma_decomposable_attention`
    (`attention`) and for allennlp-models' `decomposable_attention` (its softmax
    `p2h_attention`, rows summing to 1).

    A bad input line stops `allennlp predict` with a message naming the line (see
    `InputLineCounter`).

    Registered as a `Predictor` with name "hardkuma_attention".
    """

    def load_line(self, line: str) -> JsonDict:
        return self.parse_line(line, ("premise", "hypothesis"), any_of=False)

    def _json_to_instance(self, json_dict: JsonDict) -> Instance:
        missing = [key for key in ("premise", "hypothesis") if key not in json_dict]
        if missing:
            raise ValueError(
                f"hardkuma_attention predictor: input is missing {', '.join(missing)} "
                f'(expected {{"premise": ..., "hypothesis": ...}}, got keys {sorted(json_dict)})'
            )
        return super()._json_to_instance(json_dict)

    def predict_instance(self, instance: Instance) -> JsonDict:
        self._dataset_reader.apply_token_indexers(instance)
        outputs = self._model.forward_on_instance(instance)
        return sanitize(self._format(outputs))

    def predict_batch_instance(self, instances: List[Instance]) -> List[JsonDict]:
        for instance in instances:
            self._dataset_reader.apply_token_indexers(instance)
        outputs = self._model.forward_on_instances(instances)
        return sanitize([self._format(output) for output in outputs])

    def _format(self, outputs: Dict[str, Any]) -> Dict[str, Any]:
        premise_tokens = list(outputs["premise_tokens"])
        hypothesis_tokens = list(outputs["hypothesis_tokens"])
        matrix = outputs["attention"] if "attention" in outputs else outputs["p2h_attention"]
        # Batched outputs are padded to the longest pair of the batch: cut to this pair.
        matrix = numpy.asarray(matrix)[: len(premise_tokens), : len(hypothesis_tokens)]
        labels = self._model.vocab.get_index_to_token_vocabulary("labels")
        probs = numpy.asarray(outputs["label_probs"])
        label = outputs.get("label")
        if label is None:
            label = labels.get(int(probs.argmax()), str(int(probs.argmax())))
        return {
            "label": label,
            "probabilities": {labels.get(i, str(i)): float(p) for i, p in enumerate(probs)},
            "label_probs": probs.tolist(),
            "premise_tokens": premise_tokens,
            "hypothesis_tokens": hypothesis_tokens,
            "attention": matrix.tolist(),
            "nonzero_attention": float((matrix != 0).mean()) if matrix.size else 0.0,
        }
