import pytest

import hardkuma_allennlp  # noqa: F401  (registers the plugin's components)
from tests import PROJECT_ROOT


@pytest.fixture(autouse=True)
def _run_from_project_root(monkeypatch):
    """Fixture configs name their data relative to the project root, like allennlp-models'."""
    monkeypatch.chdir(PROJECT_ROOT)
