import logging
import math
import re
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.data.dataset_readers.dataset_reader import DatasetReader
from allennlp.data.fields import Field, MetadataField, TensorField, TextField
from allennlp.data.instance import Instance
from allennlp.data.token_indexers import SingleIdTokenIndexer, TokenIndexer
from allennlp.data.tokenizers import Token
from allennlp.data.vocabulary import DEFAULT_OOV_TOKEN

from hardkuma_allennlp.dataset_readers.lines import (
    InputFormatError,
    data_file_path,
    json_object,
    numbered_lines,
)
from hardkuma_allennlp.dataset_readers.rationale_spans import clip_spans, gold_rationale_mask

logger = logging.getLogger(__name__)

NUM_ASPECTS = 5
ASPECT_NAMES = ("appearance", "aroma", "palate", "taste", "overall")
_ASPECT_ALIASES = {
    "appearance": 0,
    "look": 0,
    "aroma": 1,
    "smell": 1,
    "palate": 2,
    "taste": 3,
    "overall": 4,
}

Span = Tuple[int, int]


class BeerFormatError(InputFormatError):
    """A malformed line in a BeerAdvocate file; the message names the file and the line."""


@DatasetReader.register("beer_advocate")
class BeerAdvocateDatasetReader(DatasetReader):
    """
    Reads the multi-aspect BeerAdvocate reviews in the format of Lei, Barzilay & Jaakkola (2016),
    as used by Bastings, Aziz & Titov (2019), [Interpretable Neural Predictions with
    Differentiable Binary Variables](https://arxiv.org/abs/1905.08160), section 6.1.

    Two kinds of files are read, told apart by their content (the first non-blank line of an
    annotation file starts with `{`); either may be gzipped (detected by its magic bytes, so the
    name does not matter) or plain text:

    - review files (`reviews.aspect{0,1,2}.{train,heldout}.txt.gz`): one review per line, five
      scores in [0, 1] separated by spaces (appearance, aroma, palate, taste, overall), a TAB,
      then the lowercased, space-tokenized review. Blank lines are skipped; a review with no
      token after the TAB is skipped with a warning.
    - the annotation file (`annotations.json`): JSON lines, each an object with `x` (list of
      tokens), `y` (five scores) and keys `"0"` to `"4"`, each a list of `[start, end)` token
      spans (end exclusive) that annotators marked as the rationale for that aspect. Other keys
      (`raw`, `rid`, ...) are ignored. The list `x` is authoritative, because the spans index
      into it: every entry is one token, also where it is empty or holds whitespace (the
      published file has `'\\xa0'`, `'\\xa0just'` and `'suggest\\x85'`); see
      `vocabulary_form` for what the model reads of such a token.

    Each `Instance` has the fields:

    - `tokens`: a `TextField` (tokens lowercased; truncated to `max_length` if given).
    - `label`: a float `TensorField` of shape `(num_targets,)`: the score of the chosen aspect
      (`num_targets == 1`) or all five scores (`aspect` is `None` / `"all"`).
    - `gold_rationale` (only from the annotation file, and only for a single aspect): a float
      `TensorField` of shape `(num_tokens,)`, 1.0 inside a gold span of the aspect and 0.0
      outside. **A review with no gold span for the aspect** (an empty list, or only spans cut
      off by `max_length`) gets -1.0 at every position: it is still read (it counts for the
      score MSE), and the `rationale_f1` metric excludes it because it has no position with a
      positive gold value.
    - `metadata`: a `MetadataField` with `"tokens"` (list of str), `"aspect"` (int, or `None`
      for all five), `"gold_spans"` (the `[start, end)` spans of the aspect as a list of pairs,
      or for all aspects a list of five such lists; `None` for review files) and
      `"has_gold_rationale"` (bool: a `gold_rationale` field with at least one gold token).

    Malformed input (scores outside [0, 1] or not numbers, a missing TAB, a wrong number of
    scores, bad JSON, missing keys, a span outside the token range) raises a `BeerFormatError`
    (a `ValueError`) that names the file and the line number.

    Registered as a `DatasetReader` with name "beer_advocate".

    # Parameters

    aspect : `Union[int, str]`, optional (default = `None`)
        The aspect to predict: 0 (appearance / look), 1 (aroma / smell), 2 (palate), 3 (taste) or
        4 (overall), given as an int, a digit string or the aspect's name. `None` or `"all"`
        predicts all five scores at once (5-dimensional label, no `gold_rationale`).
    max_length : `int`, optional (default = `None`)
        If given, reviews are truncated to their first `max_length` tokens (the authors use 256
        for training); gold spans are cut at the same point.
    token_indexers : `Dict[str, TokenIndexer]`, optional
        How to index the tokens (default: `{"tokens": SingleIdTokenIndexer()}`).
    """

    def __init__(
        self,
        aspect: Optional[Union[int, str]] = None,
        max_length: Optional[int] = None,
        token_indexers: Optional[Dict[str, TokenIndexer]] = None,
        **kwargs,
    ) -> None:
        super().__init__(
            manual_distributed_sharding=True, manual_multiprocess_sharding=True, **kwargs
        )
        self._aspect = self._parse_aspect(aspect)
        if max_length is not None and (isinstance(max_length, bool) or max_length < 1):
            raise ConfigurationError(f"max_length must be a positive int or None, got {max_length}")
        self._max_length = max_length
        self._token_indexers = token_indexers or {"tokens": SingleIdTokenIndexer()}

    @staticmethod
    def _parse_aspect(aspect: Optional[Union[int, str]]) -> Optional[int]:
        if aspect is None:
            return None
        if isinstance(aspect, str):
            name = aspect.strip().lower()
            if name == "all":
                return None
            if name in _ASPECT_ALIASES:
                return _ASPECT_ALIASES[name]
            if name.isdigit():
                aspect = int(name)
        if isinstance(aspect, int) and not isinstance(aspect, bool) and 0 <= aspect < NUM_ASPECTS:
            return aspect
        raise ConfigurationError(
            f"aspect must be one of 0-4, {sorted(_ASPECT_ALIASES)}, 'all' or None; got {aspect!r}"
        )

    @property
    def num_targets(self) -> int:
        return NUM_ASPECTS if self._aspect is None else 1

    # ------------------------------------------------------------------------------------------
    # Reading files

    @staticmethod
    def _is_annotation_file(path: str, name: str) -> bool:
        for _, line in numbered_lines(path, name):
            stripped = line.strip()
            if stripped:
                return stripped.startswith("{")
        return False

    def _read(self, file_path: str) -> Iterable[Instance]:
        path = data_file_path(file_path)
        annotations = self._is_annotation_file(path, file_path)
        logger.info(
            "Reading BeerAdvocate %s from %s",
            "annotations" if annotations else "reviews",
            file_path,
        )
        yielded = 0
        for line_number, line in self.shard_iterable(numbered_lines(path, file_path)):
            if not line.strip():
                continue
            try:
                if annotations:
                    instance = self._annotation_line_to_instance(line)
                else:
                    instance = self._review_line_to_instance(line)
            except BeerFormatError as error:
                raise BeerFormatError(f"{file_path}, line {line_number}: {error}") from None
            if instance is None:
                logger.warning("%s, line %d: empty review, skipped", file_path, line_number)
                continue
            yielded += 1
            yield instance
        if yielded == 0 and self.get_distributed_info() is None and self.get_worker_info() is None:
            raise BeerFormatError(f"{file_path}: no instance to read: the file has no review")

    def _review_line_to_instance(self, line: str) -> Optional[Instance]:
        line = line.rstrip("\r\n")
        if "\t" not in line:
            raise BeerFormatError(
                "expected five scores, a TAB and the review, but found no TAB in the line"
            )
        score_text, review = line.split("\t", 1)
        fields = score_text.split()
        scores = [_parse_score(value) for value in fields]
        if len(scores) != NUM_ASPECTS:
            raise BeerFormatError(
                f"expected {NUM_ASPECTS} scores before the TAB, found {len(scores)}: {score_text!r}"
            )
        tokens = review.lower().split()
        if not tokens:
            return None
        return self._make_instance(tokens, scores, None)

    def _annotation_line_to_instance(self, line: str) -> Instance:
        try:
            item = json_object(line)
        except ValueError as error:
            raise BeerFormatError(str(error)) from None
        for key in ["x", "y"] + [str(a) for a in range(NUM_ASPECTS)]:
            if key not in item:
                raise BeerFormatError(f"missing key {key!r} in the annotation object")
        tokens = item["x"]
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise BeerFormatError("'x' must be a list of token strings")
        if not tokens:
            raise BeerFormatError("'x' is empty: an annotated review needs tokens")
        scores = item["y"]
        if not isinstance(scores, list) or len(scores) != NUM_ASPECTS:
            raise BeerFormatError(f"'y' must be a list of {NUM_ASPECTS} scores, found {scores!r}")
        scores = [_parse_score(value) for value in scores]
        spans = {a: item[str(a)] for a in range(NUM_ASPECTS)}
        return self._make_instance([vocabulary_form(t) for t in tokens], scores, spans)

    # ------------------------------------------------------------------------------------------
    # Instances

    def text_to_instance(  # type: ignore
        self,
        review: str,
        scores: Optional[Union[float, Sequence[float]]] = None,
        spans: Optional[Union[Sequence[Sequence[int]], Dict[Any, Sequence[Sequence[int]]]]] = None,
    ) -> Instance:
        """
        Builds an instance from raw review text (lowercased, split on whitespace).

        # Parameters

        review : `str`
            The review text.
        scores : `float` or `Sequence[float]`, optional
            Either all five aspect scores, or (for a single aspect) just the aspect's score.
        spans : optional
            Gold `[start, end)` token spans: a list of pairs for the reader's aspect, or a dict
            from aspect index (int or digit string) to such a list, as in `annotations.json`.
        """
        tokens = review.lower().split()
        if not tokens:
            raise ValueError("the review has no tokens")
        if scores is not None:
            if isinstance(scores, (int, float)):
                scores = [scores]
            scores = [_parse_score(value) for value in scores]
            if len(scores) == 1 and self._aspect is not None:
                full = [0.0] * NUM_ASPECTS
                full[self._aspect] = scores[0]
                scores = full
            elif len(scores) != NUM_ASPECTS:
                raise ValueError(
                    f"expected {NUM_ASPECTS} scores (or 1 for a single aspect), got {len(scores)}"
                )
        span_dict: Optional[Dict[int, Any]] = None
        if spans is not None:
            if isinstance(spans, dict):
                span_dict = {int(key): value for key, value in spans.items()}
            elif self._aspect is not None:
                span_dict = {self._aspect: spans}
            else:
                raise ValueError("with aspect='all', spans must be a dict from aspect to spans")
        return self._make_instance(tokens, scores, span_dict)

    def _make_instance(
        self,
        tokens: List[str],
        scores: Optional[List[float]],
        spans: Optional[Dict[int, Any]],
    ) -> Instance:
        num_tokens = len(tokens)
        kept = tokens if self._max_length is None else tokens[: self._max_length]
        fields: Dict[str, Field] = {
            "tokens": TextField([Token(t) for t in kept], self._token_indexers)
        }
        if scores is not None:
            target = scores if self._aspect is None else [scores[self._aspect]]
            # Shape: (num_targets,)
            fields["label"] = TensorField(torch.tensor(target, dtype=torch.float))

        gold_spans: Any = None
        has_gold = False
        if spans is not None:
            aspects = range(NUM_ASPECTS) if self._aspect is None else [self._aspect]
            # Every aspect's spans are checked, not only those read: a bad span elsewhere in
            # the line means the line is not what it claims to be.
            for aspect in spans:
                _check_spans(spans[aspect], num_tokens, aspect)
            clipped = {}
            for aspect in aspects:
                if aspect not in spans:
                    raise BeerFormatError(f"no gold spans given for aspect {aspect}")
                checked = _check_spans(spans[aspect], num_tokens, aspect)
                clipped[aspect] = clip_spans(checked, len(kept))
            if self._aspect is None:
                gold_spans = [clipped[a] for a in range(NUM_ASPECTS)]
            else:
                gold_spans = clipped[self._aspect]
                # Shape: (num_tokens,); -1.0 without a gold span for this aspect.
                gold, has_gold = gold_rationale_mask(gold_spans, len(kept))
                fields["gold_rationale"] = TensorField(gold)

        fields["metadata"] = MetadataField(
            {
                "tokens": kept,
                "aspect": self._aspect,
                "gold_spans": gold_spans,
                "has_gold_rationale": has_gold,
            }
        )
        return Instance(fields)


def vocabulary_form(token: str) -> str:
    """
    The form of an `annotations.json` token that the model reads: lowercased, with leading and
    trailing whitespace removed and each inner run of whitespace replaced by one `_`, so that the
    token stays one token and the gold spans, which index into `x`, stay aligned. Whitespace is
    what Python's `str.split` splits on, which includes U+00A0, U+0085, U+2028 and U+3000 (the
    published file has U+00A0 and U+0085 inside three tokens); the review files are split on the
    same characters, so `'suggest\\x85'` reads as `suggest` in both. A token that is empty or only
    whitespace becomes AllenNLP's unknown-word token `@@UNKNOWN@@`.
    """
    parts = token.lower().split()
    return "_".join(parts) if parts else DEFAULT_OOV_TOKEN


# A plain decimal number: Python's float() also takes "0_1", full-width digits, "inf", "1e-1".
_DECIMAL = re.compile(r"-?([0-9]+(\.[0-9]*)?|\.[0-9]+)")


def _parse_score(value: Any) -> float:
    if isinstance(value, bool):
        raise BeerFormatError(f"score {value!r} is not a number")
    if isinstance(value, str) and not _DECIMAL.fullmatch(value):
        raise BeerFormatError(f"score {value!r} is not a number (a plain decimal like 0.8)")
    try:
        score = float(value)
    except (TypeError, ValueError):
        raise BeerFormatError(f"score {value!r} is not a number") from None
    if math.isnan(score) or not 0.0 <= score <= 1.0:
        raise BeerFormatError(f"score {value!r} is outside [0, 1]")
    return score


def _check_spans(spans: Any, num_tokens: int, aspect: int) -> List[Span]:
    if not isinstance(spans, (list, tuple)):
        raise BeerFormatError(f"spans of aspect {aspect} must be a list, found {spans!r}")
    checked = []
    for span in spans:
        if (
            not isinstance(span, (list, tuple))
            or len(span) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in span)
        ):
            raise BeerFormatError(f"span {span!r} of aspect {aspect} is not a [start, end) pair")
        start, end = span
        if not 0 <= start <= end <= num_tokens:
            raise BeerFormatError(
                f"span {list(span)} of aspect {aspect} is outside the token range "
                f"[0, {num_tokens}] (or has start > end)"
            )
        checked.append((start, end))
    return checked
