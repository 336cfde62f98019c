import pytest
import spacy

import hardkuma_allennlp  # noqa: F401  (registers the plugin's components)
from tests import PROJECT_ROOT


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
