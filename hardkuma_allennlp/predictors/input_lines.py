"""
Checked JSON input lines for our predictors (`allennlp predict`) and for `allennlp rationales`: a
bad line gets a message that names the input line and what is wrong with it, instead of a
traceback from deep in the model.

Every problem with the input itself is an `InputLineError`: bytes that are not UTF-8, a line that
is not a JSON object, a number JSON can parse but Python cannot hold (an integer of more than
4300 digits), a lone surrogate such as `"\\ud800"` (it cannot be written as UTF-8, so the
tokenizer and the output would fail on it), and an input with no line at all.

`allennlp predict` reads its input in AllenNLP's own `_PredictManager`, before our predictor sees
a line. Importing this module therefore wraps `_PredictManager._get_json_data` (see
`install_predict_input_checks`) so that, for our predictors only, the file is read with
`json_lines`: the errors above name the file and its line, the `id` of an input is copied to its
prediction, and the predictions of every line before a bad one are written, whatever the
`--batch-size`.
"""

import codecs
import gzip
import json
import os
import sys
import zlib
from typing import IO, Any, Callable, Iterator, List, Optional, Sequence, Tuple

from allennlp.common.checks import ConfigurationError
from allennlp.common.util import JsonDict

from hardkuma_allennlp.dataset_readers.lines import (
    data_file_path,
    decoded_lines,
    is_gzip,
    json_object,
)


class InputLineError(ValueError):
    """
    An input line of `allennlp predict` or `allennlp rationales` that cannot be used; the message
    names the file (when it is known) and the line.
    """


def parse_json_object(line: str, where: str) -> JsonDict:
    """
    One input line as a JSON object. `where` starts every message (e.g. "input line 3"). Raises
    `InputLineError` for text that is not JSON, a value that is not an object, numbers Python
    cannot hold, nesting too deep to parse and strings with lone surrogates.
    """
    if line.startswith(codecs.BOM_UTF8.decode("utf-8")):
        line = line[1:]
    try:
        item = json_object(line)
    except ValueError as error:
        shown = f": {_shown(line)}" if str(error).startswith("not valid JSON (") else ""
        raise InputLineError(f"{where}: {error}{shown}") from None
    return item


def _shown(line: str, limit: int = 200) -> str:
    text = line.strip()
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _open_bytes(path: str) -> IO[bytes]:
    """The input as bytes: stdin for "-", else the (cached, decompressed) file."""
    if path == "-":
        return sys.stdin.buffer
    if os.path.isdir(path):
        raise ConfigurationError(f"input file {path} is a directory, not a file of JSON lines")
    if "://" not in path and "!" not in path and not os.path.exists(path):
        raise ConfigurationError(f"input file {path} does not exist")
    local = data_file_path(path)
    # Gzip is told by its magic bytes, as the readers do (`lines.is_gzip`), not by the name.
    return gzip.open(local, "rb") if is_gzip(local) else open(local, "rb")


def json_lines(path: str) -> Iterator[Tuple[int, str]]:
    """
    Yields `(line_number, line)` for every non-blank line of a UTF-8 file of JSON lines (plain, or
    compressed as AllenNLP's `open_compressed` reads it; "-" is stdin), numbered from 1 as the
    file's lines are. A UTF-8 byte-order mark at the start is dropped. Bytes that are not UTF-8
    raise an `InputLineError` naming the file and the line; so does an input with no non-blank
    line (an empty input is an error, not an empty output).
    """
    name = "<stdin>" if path == "-" else path
    handle = _open_bytes(path)

    def fail(number: int, problem: str) -> InputLineError:
        return InputLineError(f"{name}: input line {number}: {problem}")

    number = 0
    found = False
    try:
        for number, line in decoded_lines(handle, fail):
            if line.strip():
                found = True
                yield number, line
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        problem = f"the gzip archive is truncated or corrupt ({error or type(error).__name__})"
        raise fail(number + 1, problem) from None
    finally:
        if handle is not sys.stdin.buffer:
            handle.close()
    if not found:
        what = "empty" if number == 0 else f"blank (all its {number} lines)"
        raise InputLineError(f"{name}: no input lines: the input is {what}")


def with_id(inputs: JsonDict, output: JsonDict) -> JsonDict:
    """The output with the input's `id` (when it has one) copied in first."""
    if "id" in inputs and "id" not in output:
        return {"id": inputs["id"], **output}
    return output


class InputLineCounter:
    """
    Mixed into a `Predictor`: numbers the lines that `allennlp predict` hands to `load_line` and
    checks them (`parse_line`), and copies an input's `id` to its prediction. Reading the input
    through `read_json_lines` (as `allennlp predict` and `allennlp rationales` do with our
    predictors) numbers the lines as the file does, blank lines included; called on its own,
    `load_line` counts the lines it is given.

    The run stops at the first bad line with an `InputLineError`; the predictions of the lines
    before it are in the output file (whatever the `--batch-size`).
    """

    _input_lines = 0
    # The input file, named at the start of `parse_line`'s messages when it is known.
    _input_path: Optional[str] = None

    def parse_line(self, line: str, text_keys: Sequence[str], any_of: bool) -> JsonDict:
        """
        Parses one line. With `any_of`, one of `text_keys` must hold a non-empty string; else
        all of them must.
        """
        self._input_lines += 1
        where = f"input line {self._input_lines}"
        try:
            item = parse_json_object(line, where)
            present = [key for key in text_keys if key in item]
            wanted = " or ".join(repr(k) for k in text_keys) if any_of else ", ".join(text_keys)
            if (any_of and not present) or (not any_of and len(present) < len(text_keys)):
                raise InputLineError(f"{where}: expected the key(s) {wanted}, got {sorted(item)}")
            for key in present:
                value = item[key]
                if not isinstance(value, str):
                    raise InputLineError(
                        f"{where}: {key!r} must be a string, got {_json_shown(value)}"
                    )
                if not value.strip():
                    raise InputLineError(f"{where}: {key!r} is empty")
        except InputLineError as error:
            if self._input_path is None:
                raise
            raise InputLineError(f"{self._input_path}: {error}") from None
        return item

    def read_json_lines(self, path: str) -> Iterator[JsonDict]:
        """The checked objects of a file of JSON lines (`json_lines`, then `load_line`)."""
        self._input_path = "<stdin>" if path == "-" else path
        for number, line in json_lines(path):
            self._input_lines = number - 1
            yield self.load_line(line)  # type: ignore[attr-defined]

    def predict_json(self, inputs: JsonDict) -> JsonDict:
        return with_id(inputs, super().predict_json(inputs))  # type: ignore[misc]

    def predict_batch_json(self, inputs: List[JsonDict]) -> List[JsonDict]:
        outputs = super().predict_batch_json(inputs)  # type: ignore[misc]
        return [with_id(i, o) for i, o in zip(inputs, outputs)]


def _json_shown(value: Any, limit: int = 200) -> str:
    text = json.dumps(value)
    return text if len(text) <= limit else text[:limit] + "..."


class HeldBackError:
    """
    An iterator over `items` for `allennlp predict`, which takes them in groups of `batch_size`
    (`lazy_groups_of`). At an error in the middle of a group it ends the group early (so the
    lines before the bad one are still predicted and written) and raises the error on the next
    call; at an error at the start of a group it raises at once. Without it a bad line would lose
    the predictions of the earlier lines of its batch. `before_error` runs before an error is
    raised (`allennlp predict` flushes its output file there, so that what was predicted is on
    disk however the error is handled).
    """

    def __init__(
        self,
        items: Iterator[Any],
        batch_size: int,
        before_error: Optional[Callable[[], None]] = None,
    ) -> None:
        self._items = items
        self._batch_size = max(1, batch_size)
        self._before_error = before_error
        self._taken = 0
        self._error: Optional[BaseException] = None

    def __iter__(self) -> "HeldBackError":
        return self

    def __next__(self) -> Any:
        if self._error is not None:
            error, self._error = self._error, None
            self._items = iter(())
            self._prepare()
            raise error
        try:
            item = next(self._items)
        except (InputLineError, ConfigurationError) as error:
            if self._taken % self._batch_size == 0:
                self._prepare()
                raise
            self._error = error
            raise StopIteration from None
        self._taken += 1
        return item

    def _prepare(self) -> None:
        if self._before_error is not None:
            self._before_error()


_original_get_json_data: Optional[Callable] = None


def install_predict_input_checks() -> None:
    """
    Makes `allennlp predict` read JSON-lines input through `InputLineCounter.read_json_lines`
    when the predictor is one of ours; any other predictor reads as AllenNLP does. Idempotent.
    """
    global _original_get_json_data
    from allennlp.commands import predict

    manager = predict._PredictManager
    if _original_get_json_data is not None:
        return
    _original_get_json_data = manager._get_json_data

    def _get_json_data(self) -> Iterator[JsonDict]:
        if isinstance(self._predictor, InputLineCounter):
            items = self._predictor.read_json_lines(self._input_file)
            output = self._output_file
            return HeldBackError(items, self._batch_size, output.flush if output else None)
        return _original_get_json_data(self)

    _get_json_data.__doc__ = install_predict_input_checks.__doc__
    manager._get_json_data = _get_json_data


install_predict_input_checks()
