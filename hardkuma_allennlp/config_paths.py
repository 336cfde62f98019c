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

It also refuses trainer keys that nothing reads. AllenNLP's `GradientDescentTrainer` takes
`**kwargs`, so `from_params` passes it every key it does not know and the trainer drops them: a
typo such as `trainer.num_epoch` trained for the default 20 epochs without a word. Now it is a
`ConfigurationError` naming the key and the closest known one.
"""

import difflib
import functools
import inspect
from typing import Any, Callable

from allennlp.common import from_params
from allennlp.common.checks import ConfigurationError
from allennlp.training.gradient_descent_trainer import GradientDescentTrainer

# Keys that AllenNLP's trainer reads from its **kwargs (a deprecated spelling).
_TRAINER_KWARGS = {"run_sanity_checks"}


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
    _refuse_unknown_trainer_keys()


def _refuse_unknown_trainer_keys() -> None:
    build = GradientDescentTrainer.__dict__["from_partial_objects"].__func__
    known = [
        name
        for name, parameter in inspect.signature(build).parameters.items()
        if parameter.kind is not inspect.Parameter.VAR_KEYWORD and name != "cls"
    ]

    @functools.wraps(build)
    def from_partial_objects(cls, *args, **kwargs):
        # A subclass may take more keys in its constructor (they reach it through **kwargs).
        accepted = set(known) | _TRAINER_KWARGS
        for klass in cls.__mro__:
            if "__init__" in vars(klass):
                accepted |= set(inspect.signature(vars(klass)["__init__"]).parameters)
        unknown = sorted(set(kwargs) - accepted)
        if unknown:
            hints = []
            for key in unknown:
                close = difflib.get_close_matches(key, known, n=1)
                hints.append(
                    f"trainer.{key}" + (f" (did you mean trainer.{close[0]}?)" if close else "")
                )
            raise ConfigurationError(
                f"unknown trainer key{'s' if len(unknown) > 1 else ''}: {', '.join(hints)}; "
                "AllenNLP's trainer would ignore it"
            )
        return build(cls, *args, **kwargs)

    GradientDescentTrainer.from_partial_objects = classmethod(from_partial_objects)
