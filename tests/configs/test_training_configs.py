"""Every experiment in training_config/ builds and trains one epoch on the fixtures."""

import json
import re
from pathlib import Path

import pytest
from allennlp.commands.train import TrainModel
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError

from hardkuma_allennlp.environment import DEFAULTS, DERIVED_DEFAULTS, set_default_environment
from tests import CONFIG_ROOT, FIXTURES_ROOT

EXPERIMENTS = sorted(CONFIG_ROOT.glob("*.jsonnet"))

# Environment variables that point each family of experiments at the fixtures.
FIXTURE_ENVIRONMENT = {
    "sst": {
        "SST_TRAIN": FIXTURES_ROOT / "sst" / "train.txt",
        "SST_DEV": FIXTURES_ROOT / "sst" / "dev.txt",
        "SST_TEST": FIXTURES_ROOT / "sst" / "test.txt",
        "SST_EMBEDDINGS": FIXTURES_ROOT / "glove" / "tiny_glove.txt",
        "EMBEDDING_DIM": 10,
        "LOWERCASE": "true",
        # The tiny random BERT of scripts/make_tiny_bert.py, for the transformer experiments.
        "TRANSFORMER_MODEL": FIXTURES_ROOT / "tiny_bert",
        "TRANSFORMER_DIM": 16,
        # Its position limit (64): longer texts are folded.
        "TRANSFORMER_MAX_LENGTH": 64,
    },
    "snli": {
        "SNLI_TRAIN": FIXTURES_ROOT / "snli" / "snli_reduced.jsonl",
        "SNLI_DEV": FIXTURES_ROOT / "snli" / "snli_original.jsonl",
        "SNLI_TEST": FIXTURES_ROOT / "snli" / "snli_reduced.jsonl",
        "SNLI_EMBEDDINGS": FIXTURES_ROOT / "snli" / "glove_tiny_8d.txt",
        "EMBEDDING_DIM": 8,
        "LOWERCASE": "true",
    },
    "text": {
        "TEXT_TRAIN": FIXTURES_ROOT / "text_classification" / "train.csv",
        "TEXT_DEV": FIXTURES_ROOT / "text_classification" / "dev.jsonl",
        "TEXT_EMBEDDINGS": FIXTURES_ROOT / "glove" / "tiny_glove.txt",
        "EMBEDDING_DIM": 10,
        "LOWERCASE": "true",
    },
    "beer": {
        "BEER_DATA_DIR": FIXTURES_ROOT / "beer",
        "BEER_EMBEDDINGS": FIXTURES_ROOT / "beer" / "review+wiki.filtered.10.txt.gz",
        "BEER_EMBEDDING_DIM": 10,
    },
}
SHRINK = {"trainer.num_epochs": 1, "trainer.cuda_device": -1}


def point_at_fixtures(monkeypatch, config: Path) -> None:
    family = config.name.split("_")[0]
    for name, value in FIXTURE_ENVIRONMENT[family].items():
        monkeypatch.setenv(name, str(value))


def build_and_train(config: Path, serialization_dir: Path, overrides=SHRINK):
    params = Params.from_file(str(config), json.dumps(overrides))
    train_loop = TrainModel.from_params(
        params=params, serialization_dir=str(serialization_dir), local_rank=0
    )
    train_loop.run()
    return train_loop


def test_there_are_experiments():
    names = {config.stem for config in EXPERIMENTS}
    assert {"sst_hardkuma", "sst_bilstm", "sst_bernoulli"} <= names


@pytest.mark.parametrize("config", EXPERIMENTS, ids=lambda path: path.stem)
def test_experiment_builds_and_trains_on_fixtures(config, monkeypatch, tmp_path):
    point_at_fixtures(monkeypatch, config)
    train_loop = build_and_train(config, tmp_path)
    assert train_loop.model is not None
    assert (tmp_path / "best.th").exists()


def test_unknown_component_fails_with_allennlp_error(monkeypatch, tmp_path):
    source = (CONFIG_ROOT / "sst_hardkuma.jsonnet").read_text()
    broken = tmp_path / "broken.jsonnet"
    broken.write_text(
        source.replace("import 'common/", f"import '{CONFIG_ROOT}/common/").replace(
            "type: 'hardkuma'", "type: 'no_such_gate'"
        )
    )
    point_at_fixtures(monkeypatch, CONFIG_ROOT / "sst_hardkuma.jsonnet")
    with pytest.raises(ConfigurationError, match="no_such_gate"):
        build_and_train(broken, tmp_path / "run")


def test_missing_data_file_names_the_file(monkeypatch, tmp_path):
    config = CONFIG_ROOT / "sst_hardkuma.jsonnet"
    point_at_fixtures(monkeypatch, config)
    missing = tmp_path / "nowhere" / "train.txt"
    monkeypatch.setenv("SST_TRAIN", str(missing))
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        build_and_train(config, tmp_path / "run")


def test_environment_defaults_and_overrides(monkeypatch, tmp_path):
    for name in DEFAULTS:
        monkeypatch.delenv(name, raising=False)
    set_default_environment()
    params = Params.from_file(str(CONFIG_ROOT / "sst_hardkuma.jsonnet"))
    assert params["train_data_path"] == DEFAULTS["SST_TRAIN"]
    assert params["train_data_path"].startswith("https://nlp.stanford.edu/")
    embedder = params["model"]["text_field_embedder"]["token_embedders"]["tokens"]
    assert "glove.840B.300d" in embedder["pretrained_file"]
    assert embedder["embedding_dim"] == 300

    monkeypatch.setenv("SST_TRAIN", "/data/sst/train.txt")
    monkeypatch.setenv("EMBEDDING_DIM", "50")
    set_default_environment()  # keeps what the user set
    params = Params.from_file(str(CONFIG_ROOT / "sst_hardkuma.jsonnet"))
    assert params["train_data_path"] == "/data/sst/train.txt"
    assert (
        params["model"]["text_field_embedder"]["token_embedders"]["tokens"]["embedding_dim"] == 50
    )


def test_every_variable_the_configs_read_has_a_default():
    used = set()
    for path in CONFIG_ROOT.rglob("*sonnet"):
        used |= set(re.findall(r"std\.extVar\('([A-Z0-9_]+)'\)", path.read_text()))
    assert used, "the configs read no environment variables?"
    known = set(DEFAULTS) | set(DERIVED_DEFAULTS)
    assert used <= known, sorted(used - known)


def test_sst_hardkuma_starts_from_the_authors_initialisation(monkeypatch, tmp_path):
    # The initializer's regexes name our parameters; a renamed module would silently leave
    # PyTorch's defaults in place, so check what the built model holds before training.
    config = CONFIG_ROOT / "sst_hardkuma.jsonnet"
    point_at_fixtures(monkeypatch, config)
    train_loop = build_and_train(config, tmp_path, {**SHRINK, "trainer.num_epochs": 0})
    embedding_dim, hidden = 10, 150  # the fixtures' vectors, the config's BiLSTMs
    bounds = {"weight_ih": (6 / (embedding_dim + hidden)) ** 0.5, "weight_hh": (6 / 300) ** 0.5}
    seen = {"weight_ih": 0, "weight_hh": 0, "bias": 0, "shape": 0}
    for name, parameter in train_loop.model.named_parameters():
        kind = next((k for k in bounds if k in name), None)
        if kind:
            assert parameter.abs().max() <= bounds[kind]
            # Filled up to the bound: not PyTorch's 1 / sqrt(hidden) = 0.082 default.
            assert parameter.abs().max() > 0.9 * bounds[kind]
            seen[kind] += 1
        elif "bias" in name:
            assert not parameter.any(), name
            seen["bias"] += 1
        if re.search(r"(a_layer|b_layer)\.weight", name):
            fan_in, fan_out = parameter.shape[1], parameter.shape[0]
            assert parameter.abs().max() <= (6 / (fan_in + fan_out)) ** 0.5
            seen["shape"] += 1
    assert seen["weight_ih"] >= 4 and seen["weight_hh"] >= 4 and seen["bias"] and seen["shape"] == 2
