"""
The tiny random BERT of fixtures/tiny_bert under AllenNLP's `pretrained_transformer_mismatched`
indexer and embedder: offline, one vector a word, each the mean of its word pieces' vectors.
"""

import json

import pytest
import torch
from allennlp.data import Batch, Vocabulary
from allennlp.data.token_indexers import PretrainedTransformerMismatchedIndexer
from allennlp.modules.text_field_embedders import BasicTextFieldEmbedder
from allennlp.modules.token_embedders import PretrainedTransformerMismatchedEmbedder
from allennlp.nn.util import get_text_field_mask
from safetensors.torch import load_file
from transformers import AutoModel

from hardkuma_allennlp.dataset_readers.sst import SstTreeDatasetReader
from scripts import make_tiny_bert
from tests import FIXTURES_ROOT
from tests.offline import no_network  # noqa: F401  (the fixture, used below)

TINY_BERT = FIXTURES_ROOT / "tiny_bert"

pytestmark = pytest.mark.usefixtures("no_network")


def test_the_script_rewrites_the_committed_fixture(tmp_path):
    make_tiny_bert.main(["--output", str(tmp_path)])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in TINY_BERT.iterdir())
    for name in ("vocab.txt", "tokenizer.json", "special_tokens_map.json"):
        assert (tmp_path / name).read_bytes() == (TINY_BERT / name).read_bytes(), name
    written, committed = (
        json.loads((d / "config.json").read_text()) for d in (tmp_path, TINY_BERT)
    )
    written.pop("transformers_version"), committed.pop("transformers_version")
    assert written == committed
    new, old = load_file(tmp_path / "model.safetensors"), load_file(TINY_BERT / "model.safetensors")
    assert new.keys() == old.keys() and all(torch.equal(new[k], old[k]) for k in new)
    assert sum(p.stat().st_size for p in TINY_BERT.iterdir()) < 100_000  # a few tens of KB


def test_mismatched_embedder_gives_one_vector_per_word_the_mean_of_its_pieces():
    reader = SstTreeDatasetReader(
        token_indexers={"tokens": PretrainedTransformerMismatchedIndexer(str(TINY_BERT))}
    )
    words = ["A", "wonderful", "writer/director", "Fellini", "café", "8", "1/2", "."]
    instances = [reader.text_to_instance(words, 4), reader.text_to_instance(["Dull", "."], 0)]
    for instance in instances:
        reader.apply_token_indexers(instance)
    vocab = Vocabulary.from_instances(instances)
    batch = Batch(instances)
    batch.index_instances(vocab)
    tokens = batch.as_tensor_dict()["tokens"]
    pieces = tokens["tokens"]
    # Word pieces: [CLS] a wond ##erful writer / dire ##ctor fell ##ini cafe 8 1 / 2 . [SEP]
    assert int(pieces["wordpiece_mask"][0].sum()) == 17
    assert pieces["offsets"][0].tolist() == [
        [1, 1], [2, 3], [4, 7], [8, 9], [10, 10], [11, 11], [12, 14], [15, 15],
    ]  # fmt: skip

    embedder = BasicTextFieldEmbedder(
        {"tokens": PretrainedTransformerMismatchedEmbedder(str(TINY_BERT))}
    ).eval()
    with torch.no_grad():
        embedded = embedder(tokens)
    assert embedded.shape == (2, len(words), 16)  # words, not word pieces

    # The same vectors from transformers itself: the last layer, averaged over each word's pieces.
    model = AutoModel.from_pretrained(str(TINY_BERT)).eval()
    with torch.no_grad():
        hidden = model(
            input_ids=pieces["token_ids"],
            attention_mask=pieces["wordpiece_mask"],
            token_type_ids=pieces["type_ids"],
        ).last_hidden_state
    for index, (start, end) in enumerate(pieces["offsets"][0].tolist()):
        expected = hidden[0, start : end + 1].mean(0)
        assert torch.allclose(embedded[0, index], expected, atol=1e-5), words[index]
    assert torch.allclose(embedded[1, :2], hidden[1, 1:3], atol=1e-5)
    # Padding words are not zero vectors (AllenNLP fills them from the padded pieces): the model
    # must use the word-level mask, which `get_text_field_mask` gives.
    assert get_text_field_mask(tokens).tolist() == [[True] * 8, [True] * 2 + [False] * 6]
