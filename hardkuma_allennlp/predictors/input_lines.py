"""
Checked JSON input lines for our predictors (`allennlp predict`): a bad line gets a message that
names the input line and what is wrong with it, instead of a traceback from deep in the model.
"""

import json
from typing import Sequence

from allennlp.common.util import JsonDict


class InputLineError(ValueError):
    """An input line of `allennlp predict` that the predictor cannot use."""


class InputLineCounter:
    """
    Mixed into a `Predictor`: numbers the lines that `allennlp predict` hands to `load_line` and
    checks them. `allennlp predict` skips blank lines before calling `load_line`, so the number
    counts non-blank lines (the file's line number when the file has no blank lines). The run
    stops at the first bad line with an `InputLineError`; the predictions of the lines before it
    are already in the output file (with the default `--batch-size 1`; a larger batch holds back
    the predictions of its own earlier lines).
    """

    _input_lines = 0

    def parse_line(self, line: str, text_keys: Sequence[str], any_of: bool) -> JsonDict:
        """
        Parses one line. With `any_of`, one of `text_keys` must hold a non-empty string; else
        all of them must.
        """
        self._input_lines += 1
        where = f"input line {self._input_lines}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputLineError(
                f"{where}: not valid JSON ({error.msg} at column {error.colno}): {line.strip()!r}"
            ) from None
        if not isinstance(item, dict):
            raise InputLineError(f"{where}: expected a JSON object, got {type(item).__name__}")
        present = [key for key in text_keys if key in item]
        wanted = " or ".join(repr(k) for k in text_keys) if any_of else ", ".join(text_keys)
        if (any_of and not present) or (not any_of and len(present) < len(text_keys)):
            raise InputLineError(f"{where}: expected the key(s) {wanted}, got {sorted(item)}")
        for key in present:
            value = item[key]
            if not isinstance(value, str):
                raise InputLineError(f"{where}: {key!r} must be a string, got {json.dumps(value)}")
            if not value.strip():
                raise InputLineError(f"{where}: {key!r} is empty")
        return item
