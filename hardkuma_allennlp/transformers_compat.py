"""
Makes AllenNLP 2.10.1's `pretrained_transformer` tokenizer, indexers and embedders (and their
`_mismatched` variants) work with transformers >= 4.44. Importing the plugin applies it.

The failure: `PretrainedTransformerTokenizer.__init__` and `._reverse_engineer_special_tokens`
call `allennlp.common.cached_transformers.get_tokenizer(model_name, add_special_tokens=False)`
(and `=True`), which passes `add_special_tokens` on to `AutoTokenizer.from_pretrained` and so to
the tokenizer's constructor. Up to transformers 4.43 an unknown constructor argument was only
stored in `init_kwargs` and otherwise ignored (AllenNLP adds the special tokens itself, through
the `add_special_tokens` argument of each `encode` call); since 4.44,
`PreTrainedTokenizerBase.__init__` refuses any keyword argument that names one of its methods:

    AttributeError: add_special_tokens conflicts with the method add_special_tokens in
    BertTokenizerFast

Every AllenNLP component that builds a `PretrainedTransformerTokenizer` fails with it: the
`pretrained_transformer` tokenizer, the `pretrained_transformer` and
`pretrained_transformer_mismatched` indexers and the embedders of the same names (which build a
tokenizer to learn the model's special tokens). `transformers.AutoTokenizer` itself is fine.

The fix: `cached_transformers.get_tokenizer` drops the `add_special_tokens` keyword before it
reaches transformers. That is what older transformers did with it, so the tokenizer is the same
object AllenNLP 2.10.1 was tested with. Every AllenNLP caller looks the function up on the module
at call time (`cached_transformers.get_tokenizer(...)`), so replacing the module attribute covers
them all. Nothing else of AllenNLP or transformers changes.

Known to work (`tests/test_transformers_compat.py` and the tiny-BERT tests pass):

- allennlp 2.10.1, transformers 4.49.0, tokenizers 0.21.4, torch 2.13 (CPU), Python 3.11: with
  this patch (without it, the error above);
- allennlp 2.10.1 with transformers 4.1-4.20 (its own pin, `transformers<4.21`) needs no patch,
  but those versions do not install on Python 3.11 with torch 2.x;
- the check that fails was added in transformers 4.44.0 (4.43.4 does not have it); the project
  pins `transformers<4.50` for other reasons (`requirements.txt`).
"""

import functools
from typing import Any, Callable

from allennlp.common import cached_transformers

_PATCHED = "_hardkuma_drops_add_special_tokens"


def _drop_add_special_tokens(get_tokenizer: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(get_tokenizer)
    def wrapper(model_name: str, **kwargs):
        # Ignored by transformers < 4.44 and refused since; AllenNLP passes the setting to every
        # `encode` call itself.
        kwargs.pop("add_special_tokens", None)
        return get_tokenizer(model_name, **kwargs)

    setattr(wrapper, _PATCHED, True)
    return wrapper


def patch_allennlp_transformers() -> None:
    """Makes `cached_transformers.get_tokenizer` drop the `add_special_tokens` keyword (see the
    module docstring). Safe to call more than once."""
    if not getattr(cached_transformers.get_tokenizer, _PATCHED, False):
        cached_transformers.get_tokenizer = _drop_add_special_tokens(
            cached_transformers.get_tokenizer
        )
