"""
Reading the lines of a data file so that every problem with the file itself is reported with the
file's name and the 1-based line: bytes that are not UTF-8, a truncated or corrupt gzip archive.
A UTF-8 byte-order mark at the start of the file is accepted and dropped. Plain text and gzip are
told apart by the file's magic bytes, so the file name does not matter.
"""

import codecs
import gzip
import zlib
from typing import Iterator, Tuple


class InputFormatError(ValueError):
    """A data file that cannot be read as it is; the message names the file and the line."""


def is_gzip(path: str) -> bool:
    with open(path, "rb") as raw:
        return raw.read(2) == b"\x1f\x8b"


def numbered_lines(path: str, name: str = None) -> Iterator[Tuple[int, str]]:
    """
    Yields `(line_number, line)` for every line of a UTF-8 text file at `path` (gzipped or not),
    numbered from 1, with the line ending kept. `name` is how messages call the file (default:
    `path`).
    """
    name = name or path
    opener = gzip.open if is_gzip(path) else open
    line_number = 0
    with opener(path, "rb") as handle:
        try:
            for line_number, raw_line in enumerate(handle, start=1):
                if line_number == 1 and raw_line.startswith(codecs.BOM_UTF8):
                    raw_line = raw_line[len(codecs.BOM_UTF8) :]
                try:
                    line = raw_line.decode("utf-8")
                except UnicodeDecodeError as error:
                    raise InputFormatError(
                        f"{name}, line {line_number}: not UTF-8 text (byte "
                        f"{raw_line[error.start]:#04x} at column {error.start + 1}); save the "
                        "file as UTF-8"
                    ) from None
                yield line_number, line
        except (EOFError, gzip.BadGzipFile, zlib.error) as error:
            raise InputFormatError(
                f"{name}, line {line_number + 1}: the gzip archive is truncated or corrupt "
                f"({error or type(error).__name__})"
            ) from None
