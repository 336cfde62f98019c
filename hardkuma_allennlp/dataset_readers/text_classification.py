import csv
import json
import logging
import os
import re
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from allennlp.common.checks import ConfigurationError
from allennlp.data.dataset_readers.dataset_reader import DatasetReader
from allennlp.data.fields import Field, LabelField, MetadataField, TensorField, TextField
from allennlp.data.instance import Instance
from allennlp.data.token_indexers import SingleIdTokenIndexer, TokenIndexer
from allennlp.data.tokenizers import Token, Tokenizer, WhitespaceTokenizer

from hardkuma_allennlp.dataset_readers.lines import (
    InputFormatError,
    data_file_path,
    json_object,
    numbered_lines,
)
from hardkuma_allennlp.dataset_readers.rationale_spans import clip_spans, gold_rationale_mask
from hardkuma_allennlp.interpret.faithfulness import spans_of

logger = logging.getLogger(__name__)

FORMATS = ("csv", "tsv", "jsonl")
# The largest CSV field read: 2**31 - 1 characters (the csv module's C long on every platform).
_CSV_FIELD_LIMIT = 2**31 - 1
# How a file's extension (after an optional `.gz`) names its format when `format` is not given.
EXTENSIONS = {
    **dict.fromkeys((".csv",), "csv"),
    **dict.fromkeys((".tsv", ".tab"), "tsv"),
    **dict.fromkeys((".jsonl", ".ndjson", ".json"), "jsonl"),
}
_SURROGATE = re.compile("[\ud800-\udfff]")

Span = Tuple[int, int]


class TextClassificationFormatError(InputFormatError):
    """A malformed record of a text classification file; the message names the file and line."""


@DatasetReader.register("hardkuma_text_classification")
class TextClassificationDatasetReader(DatasetReader):
    """
    Reads your own text classification data: one example per record, with a text and a label
    (and, optionally, a gold rationale), in one of three formats:

    - `"csv"`: comma-separated values (RFC 4180) with a header row that names the columns. Fields
      may be quoted (`"a, b"`, `""` for a quote inside), and a quoted field may span lines.
      Blank lines are skipped; every other row must have as many fields as the header.
    - `"tsv"`: tab-separated values with a header row, one record per line. Fields are taken
      literally (no quoting, as in GLUE's `.tsv` files), so a text may contain `"` but no TAB or
      line break.
    - `"jsonl"`: JSON lines, one object per line (blank lines skipped); other keys are ignored.

    The format is the `format` parameter, or else comes from the file name's extension:
    `.csv`; `.tsv` or `.tab`; `.jsonl`, `.ndjson` or `.json` (each optionally followed by
    `.gz`). Files are UTF-8 (a byte-order mark is accepted), with LF or CRLF line endings, plain
    or gzipped (told apart by the magic bytes). Header names are compared after stripping
    surrounding spaces.

    Texts are split on whitespace by default (Python's `str.split`, which also splits on no-break
    spaces and other Unicode spaces); no model is downloaded. Labels are strings (in JSON lines an
    integer label is read as its decimal string, so `1` and `"1"` are the same class).

    A gold rationale, where `rationale_key` is given, is either a list of `[start, end)` token
    spans (end exclusive, indices into the tokens as the tokenizer splits the text), e.g.
    `[[0, 2], [5, 6]]`, or a list of 0/1 flags, one per token, e.g. `[1, 1, 0, 0, 0, 1]`. In
    CSV and TSV the cell holds that list as JSON text (`"[[0, 2], [5, 6]]"` in CSV); in JSON
    lines it is the list itself. An empty cell, a missing key, `null` or `[]` means "no gold
    rationale for this example".

    Each `Instance` has the fields:

    - `tokens`: a `TextField` (tokens lowercased with `lowercase`; truncated to `max_length`).
    - `label`: a `LabelField` in the `"labels"` namespace (when the label is known).
    - `gold_rationale` (only with `rationale_key`, then for every instance): a float
      `TensorField` of shape `(num_tokens,)`: 1.0 for the gold tokens, 0.0 for the others, and
      -1.0 everywhere for an example without a gold rationale, which the `rationale_model`'s
      rationale metrics then skip (as for the `beer_advocate` reader).
    - `metadata`: a `MetadataField` with `"tokens"` (list of str), `"gold_spans"` (the gold
      rationale as `[start, end)` spans after truncation, or `None`) and `"has_gold_rationale"`.

    Malformed input raises a `TextClassificationFormatError` (an `InputFormatError`, so a
    `ValueError`) naming the file and the 1-based line (for a CSV record, the line it starts
    on): bytes that are not UTF-8, a header without the text or label column, a row with the
    wrong number of fields, bad CSV quoting, bad JSON, a text that is not a string or has no
    token, a label that is empty or not a string or integer, a rationale that is not a list of
    spans or flags, or a span outside the tokens. A file with no record is an error too.

    Registered as a `DatasetReader` with name "hardkuma_text_classification".

    # Parameters

    text_key : `str`, optional (default = `"text"`)
        The column (CSV, TSV) or key (JSON lines) of the text.
    label_key : `str`, optional (default = `"label"`)
        The column or key of the label.
    rationale_key : `str`, optional (default = `None`)
        The column or key of the gold rationale; without it, no `gold_rationale` field is made.
        In CSV and TSV the column must be in the header (its cells may be empty).
    format : `str`, optional (default = `None`)
        `"csv"`, `"tsv"` or `"jsonl"`; `None` tells the format from each file's extension.
    tokenizer : `Tokenizer`, optional (default = `WhitespaceTokenizer()`)
        Splits the texts of the file and those given to `text_to_instance` (the predictor's path).
    token_indexers : `Dict[str, TokenIndexer]`, optional
        How to index the tokens (default: `{"tokens": SingleIdTokenIndexer()}`).
    lowercase : `bool`, optional (default = `False`)
        Lowercase every token (e.g. for lowercased word vectors such as GloVe 6B).
    max_length : `int`, optional (default = `None`)
        Keep only the first `max_length` tokens of each text; gold spans are cut at the same
        point.
    **kwargs
        Passed to `DatasetReader` (e.g. `max_instances`).
    """

    def __init__(
        self,
        text_key: str = "text",
        label_key: str = "label",
        rationale_key: Optional[str] = None,
        format: Optional[str] = None,
        tokenizer: Optional[Tokenizer] = None,
        token_indexers: Optional[Dict[str, TokenIndexer]] = None,
        lowercase: bool = False,
        max_length: Optional[int] = None,
        **kwargs,
    ) -> None:
        super().__init__(
            manual_distributed_sharding=True, manual_multiprocess_sharding=True, **kwargs
        )
        keys = {"text_key": text_key, "label_key": label_key}
        if rationale_key is not None:
            keys["rationale_key"] = rationale_key
        for name, key in keys.items():
            if not isinstance(key, str) or not key.strip():
                raise ConfigurationError(f"{name} must be a non-empty string, got {key!r}")
        if len(set(k.strip() for k in keys.values())) < len(keys):
            raise ConfigurationError(f"text_key, label_key and rationale_key must differ: {keys}")
        if format is not None and format not in FORMATS:
            raise ConfigurationError(
                f"format is {format!r}, but expected one of {list(FORMATS)} or None (from the "
                "file's extension)"
            )
        if max_length is not None and (
            not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 1
        ):
            raise ConfigurationError(f"max_length must be a positive int or None, got {max_length}")
        self._text_key = text_key.strip()
        self._label_key = label_key.strip()
        self._rationale_key = rationale_key.strip() if rationale_key is not None else None
        self._format = format
        self._tokenizer = tokenizer or WhitespaceTokenizer()
        self._token_indexers = token_indexers or {"tokens": SingleIdTokenIndexer()}
        self._lowercase = lowercase
        self._max_length = max_length

    # ------------------------------------------------------------------------------------------
    # Reading files

    def file_format(self, file_path: str) -> str:
        """The format of `file_path`: the `format` parameter, or else from the extension."""
        if self._format is not None:
            return self._format
        name = str(file_path).split("!")[-1].split("#")[-1].rstrip(")")
        stem, extension = os.path.splitext(name.lower())
        if extension == ".gz":
            extension = os.path.splitext(stem)[1]
        if extension in EXTENSIONS:
            return EXTENSIONS[extension]
        raise TextClassificationFormatError(
            f"{file_path}: cannot tell the format from the file name (extension "
            f"{extension or 'none'!r}); name the file .csv, .tsv or .jsonl, or set the reader's "
            "`format` to 'csv', 'tsv' or 'jsonl'"
        )

    def _read(self, file_path: str) -> Iterable[Instance]:
        path = data_file_path(file_path)
        file_format = self.file_format(file_path)
        if os.path.isdir(path):
            raise TextClassificationFormatError(f"{file_path}: is a directory, not a data file")
        logger.info("Reading %s text classification data from %s", file_format, file_path)
        records = {"csv": self._csv_records, "tsv": self._tsv_records, "jsonl": self._json_records}[
            file_format
        ](path, file_path)
        yielded = 0
        for line_number, record in self.shard_iterable(records):
            try:
                instance = self._record_to_instance(record)
            except TextClassificationFormatError as error:
                raise TextClassificationFormatError(
                    f"{file_path}, line {line_number}: {error}"
                ) from None
            # Where it came from, for errors found later (a label the model does not know).
            instance["metadata"].metadata["source"] = f"{file_path}, line {line_number}"
            yielded += 1
            yield instance
        if yielded == 0 and self.get_distributed_info() is None and self.get_worker_info() is None:
            raise TextClassificationFormatError(
                f"{file_path}: no instance to read: the file has no {file_format} record"
                + (" after its header" if file_format != "jsonl" else "")
            )

    def _check_header(self, header: List[str], file_path: str, line_number: int) -> List[str]:
        names = [name.strip() for name in header]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise TextClassificationFormatError(
                f"{file_path}, line {line_number}: the header names column(s) {duplicates} twice"
            )
        wanted = [self._text_key, self._label_key]
        if self._rationale_key is not None:
            wanted.append(self._rationale_key)
        for key in wanted:
            if key not in names:
                raise TextClassificationFormatError(
                    f"{file_path}, line {line_number}: no column {key!r} in the header (found "
                    f"{names}); the first non-blank line must name the columns, and the reader's "
                    "text_key, label_key and rationale_key say which to read"
                )
        return names

    def _rows_to_records(
        self, rows: Iterator[Tuple[int, List[str]]], file_path: str
    ) -> Iterator[Tuple[int, Dict[str, Any]]]:
        header: Optional[List[str]] = None
        for line_number, row in rows:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line
            if header is None:
                header = self._check_header(row, file_path, line_number)
                continue
            if len(row) != len(header):
                raise TextClassificationFormatError(
                    f"{file_path}, line {line_number}: expected {len(header)} fields as in the "
                    f"header {header}, found {len(row)}"
                )
            yield line_number, dict(zip(header, row))

    def _csv_records(self, path: str, file_path: str) -> Iterator[Tuple[int, Dict[str, Any]]]:
        current = [0]

        def lines() -> Iterator[str]:
            for number, line in numbered_lines(path, file_path):
                current[0] = number
                yield line

        def rows() -> Iterator[Tuple[int, List[str]]]:
            # A whole document in one quoted field is unusual, not malformed: lift Python's
            # default limit of 131,072 characters a field (raised only, never lowered).
            csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_LIMIT))
            reader = csv.reader(lines(), strict=True)
            while True:
                start = current[0] + 1
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as error:
                    raise TextClassificationFormatError(
                        f"{file_path}, line {start}: bad CSV ({error}; a field with a comma, a "
                        'quote or a line break must be in double quotes, with "" for a quote '
                        "inside)"
                    ) from None
                yield start, row

        return self._rows_to_records(rows(), file_path)

    def _tsv_records(self, path: str, file_path: str) -> Iterator[Tuple[int, Dict[str, Any]]]:
        rows = (
            (number, line.rstrip("\r\n").split("\t"))
            for number, line in numbered_lines(path, file_path)
        )
        return self._rows_to_records(rows, file_path)

    def _json_records(self, path: str, file_path: str) -> Iterator[Tuple[int, Dict[str, Any]]]:
        for line_number, line in numbered_lines(path, file_path):
            if not line.strip():
                continue
            try:
                item = json_object(line)
            except ValueError as error:
                raise TextClassificationFormatError(
                    f"{file_path}, line {line_number}: {error}"
                ) from None
            for key in (self._text_key, self._label_key):
                if key not in item:
                    raise TextClassificationFormatError(
                        f"{file_path}, line {line_number}: no key {key!r} in the object (found "
                        f"{sorted(item)})"
                    )
            yield line_number, item

    def _record_to_instance(self, record: Dict[str, Any]) -> Instance:
        rationale = None
        if self._rationale_key is not None:
            rationale = record.get(self._rationale_key)
            if isinstance(rationale, str):
                rationale = _parse_json_cell(rationale, self._rationale_key)
        return self._make_instance(
            record[self._text_key], _check_label(record[self._label_key]), rationale
        )

    # ------------------------------------------------------------------------------------------
    # Instances

    def text_to_instance(  # type: ignore[override]
        self,
        text: str,
        label: Optional[Union[str, int]] = None,
        rationale: Optional[Sequence[Any]] = None,
    ) -> Instance:
        """
        Builds an instance from a raw text, tokenized by the reader's tokenizer.

        # Parameters

        text : `str`
            The text.
        label : `Union[str, int]`, optional (default = `None`)
            The label; an int is read as its decimal string.
        rationale : `Sequence`, optional (default = `None`)
            A gold rationale, as `[start, end)` token spans or one 0/1 flag per token. With a
            `rationale_key`, an instance without one gets -1.0 everywhere in `gold_rationale`.

        Raises a `ValueError` for an empty text, a bad label or a bad rationale.
        """
        return self._make_instance(text, None if label is None else _check_label(label), rationale)

    def _tokenize(self, text: Any) -> List[str]:
        if not isinstance(text, str):
            raise TextClassificationFormatError(
                f"the text must be a string, found {json.dumps(text)[:80]}"
            )
        surrogate = _SURROGATE.search(text)
        if surrogate:
            raise TextClassificationFormatError(
                f"the text has a lone surrogate {surrogate.group(0)!r} at character "
                f"{surrogate.start() + 1}, which is not a character (bad \\u escape?)"
            )
        words = [token.text for token in self._tokenizer.tokenize(text)]
        words = [word for word in words if word.strip()]
        if not words:
            raise TextClassificationFormatError(f"the text has no token: {text!r}")
        return [word.lower() for word in words] if self._lowercase else words

    def _make_instance(
        self, text: Any, label: Optional[str], rationale: Optional[Sequence[Any]]
    ) -> Instance:
        tokens = self._tokenize(text)
        kept = tokens if self._max_length is None else tokens[: self._max_length]
        fields: Dict[str, Field] = {"tokens": TextField([Token(t) for t in kept])}
        if label is not None:
            fields["label"] = LabelField(label)
        gold_spans: Optional[List[List[int]]] = None
        has_gold = False
        if rationale is not None or self._rationale_key is not None:
            spans = _rationale_spans(rationale, len(tokens))
            if spans is not None:
                gold_spans = clip_spans(spans, len(kept))
            # Shape: (num_tokens,); -1.0 without a gold rationale.
            gold, has_gold = gold_rationale_mask(gold_spans or [], len(kept))
            fields["gold_rationale"] = TensorField(gold)
        fields["metadata"] = MetadataField(
            {"tokens": kept, "gold_spans": gold_spans, "has_gold_rationale": has_gold}
        )
        return Instance(fields)

    def apply_token_indexers(self, instance: Instance) -> None:
        instance.fields["tokens"].token_indexers = self._token_indexers  # type: ignore[attr-defined]


def _check_label(label: Any) -> str:
    if isinstance(label, bool) or not isinstance(label, (str, int)):
        raise TextClassificationFormatError(
            f"the label must be a string or an integer, found {json.dumps(label)[:80]}"
        )
    text = str(label).strip()
    if not text:
        raise TextClassificationFormatError("the label is empty")
    return text


def _parse_json_cell(cell: str, key: str) -> Any:
    if not cell.strip():
        return None
    try:
        return json.loads(cell)
    except ValueError:
        raise TextClassificationFormatError(
            f"the {key!r} cell {cell.strip()[:80]!r} is not a JSON list of [start, end) spans "
            "or of 0/1 flags"
        ) from None


def _rationale_spans(rationale: Any, num_tokens: int) -> Optional[List[Span]]:
    """The `[start, end)` spans of a rationale given as spans or as 0/1 flags; `None` for none."""
    if rationale is None:
        return None
    if not isinstance(rationale, (list, tuple)):
        raise TextClassificationFormatError(
            f"the rationale must be a list of [start, end) spans or of 0/1 flags, found "
            f"{json.dumps(rationale)[:80]}"
        )
    if not rationale:
        return None
    if all(isinstance(item, (list, tuple)) for item in rationale):
        spans = []
        for span in rationale:
            if len(span) != 2 or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in span
            ):
                raise TextClassificationFormatError(
                    f"rationale span {json.dumps(span)[:80]} is not a [start, end) pair of ints"
                )
            start, end = span
            if not 0 <= start < end <= num_tokens:
                raise TextClassificationFormatError(
                    f"rationale span {list(span)} is outside the {num_tokens} tokens or empty "
                    f"(need 0 <= start < end <= {num_tokens}; end is exclusive)"
                )
            spans.append((start, end))
        return sorted(spans)
    if all(not isinstance(v, bool) and v in (0, 1) and isinstance(v, int) for v in rationale):
        if len(rationale) != num_tokens:
            raise TextClassificationFormatError(
                f"the rationale has {len(rationale)} 0/1 flags for {num_tokens} tokens"
            )
        return spans_of([flag == 1 for flag in rationale])
    raise TextClassificationFormatError(
        f"the rationale {json.dumps(rationale)[:80]} is neither a list of [start, end) spans "
        "nor a list of 0/1 flags"
    )
