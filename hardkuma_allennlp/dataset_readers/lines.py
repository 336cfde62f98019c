"""
Reading the lines of a data file so that every problem with the file itself is reported with the
file's name and the 1-based line: bytes that are not UTF-8, a truncated or corrupt gzip archive.
A UTF-8 byte-order mark at the start of the file is accepted and dropped. Plain text and gzip are
told apart by the file's magic bytes, so the file name does not matter.

`data_file_path` turns what a config names (a path, a URL, or a member of an archive) into the
local path of the file to read.
"""

import codecs
import gzip
import json
import os
import zlib
from os import PathLike
from typing import Any, Callable, Dict, Iterable, Iterator, Optional, Tuple, Union

from allennlp.common.file_utils import cached_path
from allennlp.data import Instance
from allennlp.data.fields import LabelField, MetadataField


class InputFormatError(ValueError):
    """A data file that cannot be read as it is; the message names the file and the line."""


def data_file_path(file_path: Union[str, PathLike]) -> str:
    """
    The local path of the data file that `file_path` names, through AllenNLP's `cached_path`:

    - a local path: the path itself (a missing file raises `FileNotFoundError` naming it);
    - a URL: the cached copy, downloaded on first use into AllenNLP's cache (`ALLENNLP_CACHE_ROOT`,
      default `~/.allennlp`);
    - `ARCHIVE!MEMBER`, where `ARCHIVE` is a zip or tar archive (a local path or a URL) and
      `MEMBER` a file inside it, e.g.
      `https://nlp.stanford.edu/sentiment/trainDevTestTrees_PTB.zip!trees/train.txt`: the archive
      is downloaded (a URL) and extracted once into the cache, and the member's path there is
      returned. A member that is not in the archive raises `FileNotFoundError` naming both.

    A local file whose own name contains a "!" is read as it is.
    """
    path = str(file_path)
    if "!" in path and not os.path.exists(path):
        return cached_path(path, extract_archive=True)
    return cached_path(path)


def is_gzip(path: str) -> bool:
    with open(path, "rb") as raw:
        return raw.read(2) == b"\x1f\x8b"


def decoded_lines(
    raw_lines: Iterable[bytes], fail: Callable[[int, str], Exception]
) -> Iterator[Tuple[int, str]]:
    """
    Yields `(line_number, line)` for the UTF-8 `raw_lines` (e.g. a file opened in binary mode),
    numbered from 1, line endings kept; a byte-order mark at the start is dropped. A line that
    is not UTF-8 raises `fail(line_number, problem)`, so that each caller words the file and the
    line its own way.
    """
    for line_number, raw_line in enumerate(raw_lines, start=1):
        if line_number == 1 and raw_line.startswith(codecs.BOM_UTF8):
            raw_line = raw_line[len(codecs.BOM_UTF8) :]
        try:
            line = raw_line.decode("utf-8")
        except UnicodeDecodeError as error:
            problem = (
                f"not UTF-8 text (byte {raw_line[error.start]:#04x} at column {error.start + 1}); "
                "save the file as UTF-8"
            )
            raise fail(line_number, problem) from None
        yield line_number, line


def numbered_lines(path: str, name: str = None) -> Iterator[Tuple[int, str]]:
    """
    Yields `(line_number, line)` for every line of a UTF-8 text file at `path` (gzipped or not),
    numbered from 1, with the line ending kept. `name` is how messages call the file (default:
    `path`).
    """
    name = name or path
    opener = gzip.open if is_gzip(path) else open
    line_number = 0

    def fail(number: int, problem: str) -> InputFormatError:
        return InputFormatError(f"{name}, line {number}: {problem}")

    with opener(path, "rb") as handle:
        try:
            for line_number, line in decoded_lines(handle, fail):
                yield line_number, line
        except (EOFError, gzip.BadGzipFile, zlib.error) as error:
            raise InputFormatError(
                f"{name}, line {line_number + 1}: the gzip archive is truncated or corrupt "
                f"({error or type(error).__name__})"
            ) from None


def data_file_lines(file_path: Union[str, PathLike]) -> Iterator[Tuple[int, str]]:
    """`numbered_lines` of the file that a config names (`data_file_path`), messages naming it as
    the config does."""
    return numbered_lines(data_file_path(file_path), str(file_path))


def json_object(line: str) -> Dict[str, Any]:
    """
    One line of a JSON-lines file as a JSON object. Raises `ValueError` saying what is wrong (the
    caller adds the file and the line): text that is not JSON (and where in the line), a number
    Python cannot hold (more digits than its limit of 4300), nesting too deep to parse, or a value
    that is not an object, or a string with a lone surrogate (a `\\ud800`-`\\udfff` escape without
    its pair: it is not text, and nothing can write it as UTF-8, e.g. into the vocabulary).
    """
    try:
        item = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON ({error.msg} at column {error.colno})") from None
    except RecursionError:
        raise ValueError("not valid JSON (nested too deeply to read)") from None
    except ValueError as error:
        raise ValueError(f"not valid JSON (a number it cannot hold: {error})") from None
    if not isinstance(item, dict):
        raise ValueError(f"expected a JSON object, got {type(item).__name__}")
    surrogate = _unencodable(item)
    if surrogate:
        raise ValueError(
            f"{surrogate} holds a lone surrogate (a \\ud800-\\udfff escape without its pair), "
            "which is not text"
        )
    return item


def _unencodable(value: Any, where: str = "") -> Optional[str]:
    """Where in a parsed JSON value a string holds a lone surrogate (None if nowhere)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            return f"{where or 'a string'} (character {error.start + 1})"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _unencodable(key, "a key") or _unencodable(item, f"the value of {key!r}")
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _unencodable(item, f"{where or 'a list'}[{index}]")
            if found:
                return found
    return None


def name_unknown_labels() -> None:
    """
    Makes a label that the model's vocabulary does not know (a class seen in the test file but not
    in training) an `InputFormatError` naming the label, the labels the model knows and, where the
    reader noted it in the instance's metadata (`"source"`), the file and line. AllenNLP raises a
    bare `KeyError: '@@UNKNOWN@@'` from `Instance.index_fields`. Idempotent.
    """
    original = Instance.index_fields
    if getattr(original, "_names_unknown_labels", False):
        return

    def index_fields(self: Instance, vocab) -> None:
        try:
            original(self, vocab)
        except KeyError:
            for field in self.fields.values():
                if not isinstance(field, LabelField) or not isinstance(field.label, str):
                    continue
                namespace = field._label_namespace
                known = vocab.get_token_to_index_vocabulary(namespace)
                if field.label in known:
                    continue
                metadata = self.fields.get("metadata")
                source = (
                    metadata.metadata.get("source") if isinstance(metadata, MetadataField) else None
                )
                shown = ", ".join(repr(label) for label in sorted(known)[:20])
                raise InputFormatError(
                    f"{source or 'an input'}: label {field.label!r} is not one of the model's "
                    f"labels ({shown}{', ...' if len(known) > 20 else ''}); a model can only be "
                    "evaluated on the classes it was trained on"
                ) from None
            raise

    index_fields._names_unknown_labels = True  # type: ignore[attr-defined]
    Instance.index_fields = index_fields  # type: ignore[method-assign]
