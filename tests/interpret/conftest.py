import pytest
from allennlp.commands.train import train_model_from_file
from allennlp.models.archival import load_archive

from tests import FIXTURES_ROOT


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
