import logging
import math
import random
import re
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.data.dataset_readers.dataset_reader import DatasetReader
from allennlp.data.fields import Field, LabelField, MetadataField, TensorField, TextField
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
# One parsed line: tokens, the five scores, and the gold spans by aspect (annotation files only).
Parsed = Tuple[List[str], List[float], Optional[Dict[int, Any]]]


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
      (`num_targets == 1`) or all five scores (`aspect` is `None` / `"all"`). With `binarize`, a
      `LabelField` instead: index 0 (`"negative"`) for a score at or below
      `negative_threshold`, 1 (`"positive"`) at or above `positive_threshold`; reviews in
      between are dropped, and so are annotated reviews without a gold span for the aspect in
      the tokens read (the protocol of the rationalization papers of 2022-25: FR, MGR, DR,
      MCD). The indices are
      fixed (`skip_indexing`), so the label vocabulary does not depend on which class is more
      frequent: the model's vocabulary names them with
      `"vocabulary": {"type": "from_instances", "tokens_to_add": {"labels": ["negative",
      "positive"]}}` (as `beer_hardkuma_classification.jsonnet` does).
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
    binarize : `bool`, optional (default = `False`)
        Predict a binary sentiment label of the aspect instead of its score (needs a single
        `aspect`); see `label` above.
    negative_threshold : `float`, optional (default = `0.4`)
        With `binarize`, scores at or below this are negative.
    positive_threshold : `float`, optional (default = `0.6`)
        With `binarize`, scores at or above this are positive; it must exceed
        `negative_threshold`.
    balance : `bool`, optional (default = `False`)
        With `binarize`, drop randomly chosen reviews of the more frequent class until both
        classes have as many reviews (the peers balance their training file this way). The
        choice depends on the file and `balance_seed` only, so every epoch and every run reads
        the same reviews.
    balance_seed : `int`, optional (default = `0`)
        The seed of that choice.
    token_indexers : `Dict[str, TokenIndexer]`, optional
        How to index the tokens (default: `{"tokens": SingleIdTokenIndexer()}`).
    """

    def __init__(
        self,
        aspect: Optional[Union[int, str]] = None,
        max_length: Optional[int] = None,
        binarize: bool = False,
        negative_threshold: float = 0.4,
        positive_threshold: float = 0.6,
        balance: bool = False,
        balance_seed: int = 0,
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
        if binarize and self._aspect is None:
            raise ConfigurationError("binarize needs a single aspect, not all five")
        if balance and not binarize:
            raise ConfigurationError("balance balances binary labels: set binarize too")
        if binarize and not 0.0 <= negative_threshold < positive_threshold <= 1.0:
            raise ConfigurationError(
                "the thresholds must satisfy 0 <= negative_threshold < positive_threshold <= 1, "
                f"got {negative_threshold} and {positive_threshold}"
            )
        self._binarize = binarize
        self._thresholds = (negative_threshold, positive_threshold)
        self._balance = balance
        self._balance_seed = balance_seed
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
        dropped = self._unbalanced_lines(path, file_path, annotations) if self._balance else set()
        yielded = 0
        for line_number, line in self.shard_iterable(numbered_lines(path, file_path)):
            if not line.strip() or line_number in dropped:
                continue
            parsed = self._parse_line(line, line_number, file_path, annotations)
            if parsed is None:
                logger.warning("%s, line %d: empty review, skipped", file_path, line_number)
                continue
            if self._binarize and not self._has_binary_label(parsed):
                continue
            tokens, scores, spans = parsed
            try:
                instance = self._make_instance(tokens, scores, spans)
            except BeerFormatError as error:
                raise BeerFormatError(f"{file_path}, line {line_number}: {error}") from None
            yielded += 1
            yield instance
        if yielded == 0 and self.get_distributed_info() is None and self.get_worker_info() is None:
            what = " with a binary label" if self._binarize else ""
            raise BeerFormatError(f"{file_path}: no instance to read: the file has no review{what}")

    def _parse_line(
        self, line: str, line_number: int, name: str, annotations: bool
    ) -> Optional[Parsed]:
        try:
            if annotations:
                return self._parse_annotation_line(line)
            return self._parse_review_line(line)
        except BeerFormatError as error:
            raise BeerFormatError(f"{name}, line {line_number}: {error}") from None

    def _has_binary_label(self, parsed: Parsed) -> bool:
        """Whether `binarize` reads a parsed line: its score is outside the thresholds and, in an
        annotation file, it has a gold span of the aspect within the tokens read."""
        assert self._aspect is not None
        tokens, scores, spans = parsed
        if spans is not None:
            length = len(tokens) if self._max_length is None else self._max_length
            if not clip_spans(spans[self._aspect], length):
                return False
        return self.binary_label(scores[self._aspect]) is not None

    def binary_label(self, score: float) -> Optional[int]:
        """
        The label index that `binarize` gives an aspect score.

        # Parameters

        score : `float`
            The aspect's score, in [0, 1].

        # Returns

        `Optional[int]`
            0 (negative) at or below `negative_threshold`, 1 (positive) at or above
            `positive_threshold`, `None` in between.
        """
        negative, positive = self._thresholds
        if score <= negative:
            return 0
        if score >= positive:
            return 1
        return None

    def _unbalanced_lines(self, path: str, name: str, annotations: bool) -> Set[int]:
        """The line numbers that `balance` drops: a seeded sample of the larger class."""
        by_label: Dict[int, List[int]] = {0: [], 1: []}
        for line_number, line in numbered_lines(path, name):
            if not line.strip():
                continue
            parsed = self._parse_line(line, line_number, name, annotations)
            if parsed is not None and self._has_binary_label(parsed):
                by_label[self.binary_label(parsed[1][self._aspect])].append(line_number)
        smaller, larger = sorted(by_label.values(), key=len)
        if larger and not smaller:
            missing = "negative" if not by_label[0] else "positive"
            raise BeerFormatError(
                f"{name}: balance needs reviews of both classes, but the file has no {missing} "
                "review of the aspect"
            )
        dropped = random.Random(self._balance_seed).sample(larger, len(larger) - len(smaller))
        logger.info(
            "%s: balanced to %d reviews of each class (%d dropped)",
            name,
            len(smaller),
            len(dropped),
        )
        return set(dropped)

    def _parse_review_line(self, line: str) -> Optional[Parsed]:
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
        return tokens, scores, None

    def _parse_annotation_line(self, line: str) -> Parsed:
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
        # Every aspect's spans are checked, also on lines that are not read (a review between
        # the thresholds, or dropped by `balance`): a bad span means the line is not what it
        # claims to be.
        spans = {a: _check_spans(item[str(a)], len(tokens), a) for a in range(NUM_ASPECTS)}
        return [vocabulary_form(t) for t in tokens], scores, spans

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
        if scores is not None and self._binarize:
            assert self._aspect is not None
            label = self.binary_label(scores[self._aspect])
            if label is None:
                raise BeerFormatError(
                    f"score {scores[self._aspect]} is between the thresholds "
                    f"{self._thresholds[0]} and {self._thresholds[1]}: it has no binary label"
                )
            fields["label"] = LabelField(label, skip_indexing=True)
        elif scores is not None:
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
