import pytest
import spacy
from allennlp.commands.train import train_model_from_file
from allennlp.models.archival import load_archive

import hardkuma_allennlp  # noqa: F401  (registers the plugin's components)
from tests import FIXTURES_ROOT, PROJECT_ROOT


@pytest.fixture(autouse=True)
def _run_from_project_root(monkeypatch):
    """Fixture configs name their data relative to the project root, like allennlp-models'."""
    monkeypatch.chdir(PROJECT_ROOT)


@pytest.fixture(autouse=True)
def _no_spacy_model_loads(monkeypatch):
    """Offline by construction: no code path of ours may load (or download) a spaCy model such
    as en_core_web_sm, the fallback of AllenNLP's `spacy` tokenizer."""

    def refuse(name, *args, **kwargs):
        raise AssertionError(f"spacy.load({name!r}) called: a model download would be needed")

    monkeypatch.setattr(spacy, "load", refuse)


@pytest.fixture(scope="session")
def fixture_archive_path(tmp_path_factory):
    """Trains a fixture config once per test session; the path of its model.tar.gz."""
    paths = {}

    def path(config: str):
        if config not in paths:
            directory = tmp_path_factory.mktemp(config)
            train_model_from_file(FIXTURES_ROOT / "configs" / f"{config}.jsonnet", directory)
            paths[config] = directory / "model.tar.gz"
        return paths[config]

    return path


@pytest.fixture(scope="session")
def fixture_archive(fixture_archive_path):
    """The loaded archive of a fixture config (trained once per session)."""
    return lambda config: load_archive(fixture_archive_path(config))
