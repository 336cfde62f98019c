import os

from hardkuma_allennlp.environment import set_default_environment


def test_beer_embeddings_default_to_a_file_in_the_beer_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("BEER_EMBEDDINGS", raising=False)
    monkeypatch.setenv("BEER_DATA_DIR", str(tmp_path))
    set_default_environment()
    assert os.environ["BEER_EMBEDDINGS"] == str(tmp_path / "review+wiki.filtered.200.txt.gz")
    # A user's own setting is kept.
    monkeypatch.setenv("BEER_EMBEDDINGS", "/elsewhere/vectors.txt.gz")
    set_default_environment()
    assert os.environ["BEER_EMBEDDINGS"] == "/elsewhere/vectors.txt.gz"
