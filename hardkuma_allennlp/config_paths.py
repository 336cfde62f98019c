"""
Config errors that name where in the config they are. AllenNLP 2.10.1 reports a value of the wrong
type by its key alone (`TypeError: Expected hidden_size to be a int.`), although a config may
have that key in several places (the HardKuma configs have a `hidden_size` in the gate's encoder
and in the classifier's). Importing the plugin applies `name_config_paths`, after which the
message starts with the key's full path and shows the value:

    TypeError: model.encoder.gate.encoder.hidden_size: Expected hidden_size to be a int.
    (got 'eight')

AllenNLP builds every constructor argument through `allennlp.common.from_params.
pop_and_construct_arg(class_name, argument_name, annotation, default, params, **extras)`, which
`create_kwargs` looks up on its module at call time, and `params.history` there is the path of
the object being built ("model.encoder.gate.encoder."). The wrapper only rewords the type errors
that AllenNLP raises for that argument itself (`Expected <argument> to be ...`); every other error,
and every error of a nested object (already reworded at its own level), passes unchanged.
"""

import functools
from typing import Any, Callable

from allennlp.common import from_params


def name_config_paths() -> None:
    """Makes AllenNLP's type errors for config values name the value's path. Idempotent."""
    original: Callable[..., Any] = from_params.pop_and_construct_arg
    if getattr(original, "_names_config_paths", False):
        return

    @functools.wraps(original)
    def pop_and_construct_arg(class_name, argument_name, annotation, default, params, **extras):
        value = params.params.get(argument_name) if hasattr(params, "params") else None
        try:
            return original(class_name, argument_name, annotation, default, params, **extras)
        except TypeError as error:
            if not str(error).startswith(f"Expected {argument_name} to be "):
                raise
            shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:80] + "..."
            raise TypeError(f"{params.history}{argument_name}: {error} (got {shown})") from None

    pop_and_construct_arg._names_config_paths = True  # type: ignore[attr-defined]
    from_params.pop_and_construct_arg = pop_and_construct_arg
