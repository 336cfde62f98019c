"""
Regression tests for `hardkuma_allennlp.transformers_compat`: AllenNLP 2.10.1's
`pretrained_transformer*` components on transformers >= 4.44, offline, on the tiny BERT of
fixtures/tiny_bert (scripts/make_tiny_bert.py).
"""

import pytest
import transformers
from allennlp.common import cached_transformers
from allennlp.data.token_indexers import (
    PretrainedTransformerIndexer,
    PretrainedTransformerMismatchedIndexer,
)
from allennlp.data.tokenizers import PretrainedTransformerTokenizer
from allennlp.modules.token_embedders import (
    PretrainedTransformerEmbedder,
    PretrainedTransformerMismatchedEmbedder,
)
from packaging.version import Version

from hardkuma_allennlp.transformers_compat import patch_allennlp_transformers
from tests import FIXTURES_ROOT
from tests.offline import no_network  # noqa: F401  (the fixture, used below)

TINY_BERT = str(FIXTURES_ROOT / "tiny_bert")

pytestmark = pytest.mark.usefixtures("no_network")


@pytest.fixture(autouse=True)
def _fresh_caches():
    """AllenNLP caches tokenizers and models by name: build them for real in every test."""
    cached_transformers._clear_caches()
    yield
    cached_transformers._clear_caches()


@pytest.mark.skipif(
    Version(transformers.__version__) < Version("4.44"),
    reason="transformers < 4.44 ignores the keyword; there is nothing to reproduce",
)
def test_the_unpatched_call_fails_as_reported():
    # The cause: AllenNLP passes `add_special_tokens` to `AutoTokenizer.from_pretrained`, and
    # the tokenizer's constructor refuses a keyword that names one of its methods.
    unpatched = cached_transformers.get_tokenizer.__wrapped__
    with pytest.raises(AttributeError, match="add_special_tokens conflicts with the method"):
        unpatched(TINY_BERT, add_special_tokens=False)
    assert unpatched(TINY_BERT) is not None  # the same call without the keyword works


def test_plugin_import_patches_allennlp():
    assert getattr(cached_transformers.get_tokenizer, "_hardkuma_drops_add_special_tokens")
    before = cached_transformers.get_tokenizer
    patch_allennlp_transformers()  # idempotent: no second wrapper
    assert cached_transformers.get_tokenizer is before


def test_pretrained_transformer_tokenizer_works():
    # Fails without the patch (the AttributeError above, from the constructor).
    tokenizer = PretrainedTransformerTokenizer(TINY_BERT)
    tokens = [t.text for t in tokenizer.tokenize("A wonderful writer/director , Fellini café")]
    assert tokens == [
        "[CLS]", "a", "wond", "##erful", "writer", "/", "dire", "##ctor", ",", "fell", "##ini",
        "cafe", "[SEP]",
    ]  # fmt: skip
    assert [t.text for t in tokenizer.single_sequence_start_tokens] == ["[CLS]"]
    assert [t.text for t in tokenizer.single_sequence_end_tokens] == ["[SEP]"]
    assert [t.text for t in tokenizer.sequence_pair_mid_tokens] == ["[SEP]"]
    # `add_special_tokens=False` still means what it says: AllenNLP passes it to each encode.
    plain = PretrainedTransformerTokenizer(TINY_BERT, add_special_tokens=False)
    assert [t.text for t in plain.tokenize("A wonderful film")] == ["a", "wond", "##erful", "film"]


def test_dropping_the_keyword_is_what_older_transformers_did():
    # The keyword never reached the tokenizer's behaviour: with it dropped, both of AllenNLP's
    # calls give one tokenizer that adds special tokens exactly where `encode` is asked to.
    with_special = cached_transformers.get_tokenizer(TINY_BERT, add_special_tokens=True)
    without = cached_transformers.get_tokenizer(TINY_BERT, add_special_tokens=False)
    assert with_special is without
    assert "add_special_tokens" not in without.init_kwargs
    ids = without.encode("a film", add_special_tokens=False)
    assert without.encode("a film") == [without.cls_token_id, *ids, without.sep_token_id]


def test_every_pretrained_transformer_component_builds():
    # The indexers build a tokenizer; the embedders build one to learn the special tokens.
    assert PretrainedTransformerIndexer(TINY_BERT) is not None
    assert PretrainedTransformerMismatchedIndexer(TINY_BERT) is not None
    assert PretrainedTransformerEmbedder(TINY_BERT).get_output_dim() == 16
    assert PretrainedTransformerMismatchedEmbedder(TINY_BERT).get_output_dim() == 16
