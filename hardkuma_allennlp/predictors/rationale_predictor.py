from allennlp.common.checks import ConfigurationError
from allennlp.common.util import JsonDict
from allennlp.data import Instance
from allennlp.predictors.predictor import Predictor

from hardkuma_allennlp.predictors.input_lines import InputLineCounter

# Where an input line has its text: SST, BeerAdvocate, your own data.
TEXT_KEYS = ("sentence", "review", "text")


@Predictor.register("rationale")
class RationalePredictor(InputLineCounter, Predictor):
    """
    Predictions with their rationales from a `rationale_model`
    ([Bastings et al., 2019](https://arxiv.org/abs/1905.08160)).

    Input lines are JSON objects with the text under `"sentence"` (SST), `"review"`
    (BeerAdvocate) or `"text"` (your own data), e.g.
    `{"sentence": "a gorgeous , witty , seductive movie ."}`; the model's dataset reader tokenizes
    it (our readers do so without any model download). Each output has the label and class
    probabilities (classification) or the scores (regression), the tokens, the per-token gates
    `z`, the selected tokens (`rationale`, z != 0) and `highlight`, the text with selected tokens
    in [brackets]; an input's `"id"` is copied to its output.

    A bad input line (not JSON, no text key, a text that is not a string or is empty) stops
    `allennlp predict` with a message naming the line (see `InputLineCounter`).

    Registered as a `Predictor` with name "rationale".
    """

    def load_line(self, line: str) -> JsonDict:
        return self.parse_line(line, TEXT_KEYS, any_of=True)

    def _json_to_instance(self, json_dict: JsonDict) -> Instance:
        for key in TEXT_KEYS:
            if key in json_dict:
                return self._dataset_reader.text_to_instance(json_dict[key])
        raise ConfigurationError(
            f"rationale predictor: expected one of the keys {list(TEXT_KEYS)}, got "
            f"{sorted(json_dict)}"
        )
