"""
The default data sources of `hardkuma_allennlp.environment` (issue 26, item 1): members of zip
archives on nlp.stanford.edu, named `archive.zip!member` (SST, SNLI) and `(archive.zip)#member`
(GloVe). A local HTTP server on 127.0.0.1 serves the same archive layout, built from the fixtures,
and the defaults are pointed at it by replacing only their host; the readers, the embedder and a
training run then read them as a connected user's `allennlp train` does. Downloads go to a
temporary AllenNLP cache, and a connection to anything but the loopback address fails the test.
"""

import http.server
import json
import os
import socket
import threading
import zipfile
from functools import partial
from pathlib import Path
from typing import Dict, Iterator, List, NamedTuple, Tuple
from urllib.parse import urlparse

import allennlp.common.file_utils
import cached_path.common
import pytest
import torch
from allennlp.commands.train import train_model
from allennlp.common import Params
from allennlp.data import DatasetReader, Vocabulary
from allennlp.modules.token_embedders import TokenEmbedder
from allennlp.modules.token_embedders.embedding import parse_embeddings_file_uri

from hardkuma_allennlp.dataset_readers.lines import data_file_path
from hardkuma_allennlp.dataset_readers.snli import HardKumaSnliReader
from hardkuma_allennlp.dataset_readers.sst import SstTreeDatasetReader
from hardkuma_allennlp.environment import DEFAULTS, set_default_environment
from tests import CONFIG_ROOT, FIXTURES_ROOT

PUBLIC_HOST = "https://nlp.stanford.edu/"
SERVER_LIFETIME_S = 120.0  # the server stops by itself after this, whatever the test does

# The fixture file served as each member the defaults name.
MEMBER_FIXTURES: Dict[str, Path] = {
    "SST_TRAIN": FIXTURES_ROOT / "sst" / "train.txt",
    "SST_DEV": FIXTURES_ROOT / "sst" / "dev.txt",
    "SST_TEST": FIXTURES_ROOT / "sst" / "test.txt",
    "SNLI_TRAIN": FIXTURES_ROOT / "snli" / "snli_original.jsonl",
    "SNLI_DEV": FIXTURES_ROOT / "snli" / "snli_original.jsonl",
    "SNLI_TEST": FIXTURES_ROOT / "snli" / "snli_reduced.jsonl",
}
EMBEDDING_VARIABLES = ("SST_EMBEDDINGS", "SNLI_EMBEDDINGS")
TINY_GLOVE = FIXTURES_ROOT / "glove" / "tiny_glove.txt"
LOOPBACK = ("127.0.0.1", "::1", "localhost")


class Mirror(NamedTuple):
    base_url: str  # http://127.0.0.1:PORT/, in place of PUBLIC_HOST
    requests: List[str]  # "METHOD /path" of every request the server answered
    cache_dir: Path
    glove_vectors: Dict[str, List[float]]  # the vectors of the served GloVe member


def split_member(uri: str) -> Tuple[str, str]:
    """`(archive, member)` of an `archive!member` or `(archive)#member` default."""
    if "!" in uri:
        archive, member = uri.split("!", 1)
        return archive, member
    archive, member = parse_embeddings_file_uri(uri)
    assert member is not None, f"{uri} names no member of an archive"
    return archive, member


def glove_300d() -> Tuple[str, Dict[str, List[float]]]:
    """The tiny GloVe fixture (10d) tiled to the default EMBEDDING_DIM of 300."""
    dim = int(DEFAULTS["EMBEDDING_DIM"])
    lines, vectors = [], {}
    for line in TINY_GLOVE.read_text(encoding="utf-8").splitlines():
        word, *values = line.split(" ")
        tiled = (values * (dim // len(values) + 1))[:dim]
        vectors[word] = [float(value) for value in tiled]
        lines.append(" ".join([word, *tiled]))
    return "\n".join(lines) + "\n", vectors


def build_archives(root: Path) -> Dict[str, List[float]]:
    """Writes under `root` the archives that the defaults name, at their URL paths."""
    members: Dict[Path, Dict[str, str]] = {}

    def add(uri: str, content: str) -> None:
        archive, member = split_member(uri)
        assert archive.startswith(PUBLIC_HOST), f"{archive} is not on {PUBLIC_HOST}"
        path = root / urlparse(archive).path.lstrip("/")
        members.setdefault(path, {})[member] = content

    for name, fixture in MEMBER_FIXTURES.items():
        add(DEFAULTS[name], fixture.read_text(encoding="utf-8"))
    glove, vectors = glove_300d()
    for name in EMBEDDING_VARIABLES:
        add(DEFAULTS[name], glove)
    for path, contents in members.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for member, content in contents.items():
                archive.writestr(member, content)
    return vectors


class RecordingHandler(http.server.SimpleHTTPRequestHandler):
    requests: List[str]

    def log_message(self, format: str, *args: object) -> None:
        self.requests.append(f"{self.command} {self.path}")


@pytest.fixture
def mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mirror]:
    """
    Serves the archive layout of the defaults on 127.0.0.1 and points every default (the
    environment variables the configs read) at it, with an AllenNLP cache in `tmp_path`.
    """
    root = tmp_path / "mirror"
    vectors = build_archives(root)

    # Nothing but the loopback address may be reached, with or without a proxy in the environment.
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)
        monkeypatch.delenv(proxy.lower(), raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    connect = socket.socket.connect

    def loopback_only(sock: socket.socket, address: object) -> None:
        internet = sock.family in (socket.AF_INET, socket.AF_INET6)
        if internet and address[0] not in LOOPBACK:  # type: ignore[index]
            raise AssertionError(f"a connection to {address!r}: the test must stay offline")
        connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)

    # Downloads and extracted archives go to a temporary cache, not ~/.allennlp.
    cache_dir = tmp_path / "allennlp_cache"
    monkeypatch.setenv("ALLENNLP_CACHE_ROOT", str(tmp_path))
    monkeypatch.setattr(allennlp.common.file_utils, "CACHE_DIRECTORY", str(cache_dir))
    monkeypatch.setattr(cached_path.common, "CACHE_DIRECTORY", cache_dir)

    requests: List[str] = []
    handler = type("Handler", (RecordingHandler,), {"requests": requests})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(handler, directory=str(root))
    )
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    watchdog = threading.Timer(SERVER_LIFETIME_S, server.shutdown)
    watchdog.daemon = True
    watchdog.start()
    try:
        base_url = f"http://127.0.0.1:{server.server_address[1]}/"
        # The defaults as a user without any of these variables gets them, on the mirror's host.
        for name in DEFAULTS:
            monkeypatch.delenv(name, raising=False)
        set_default_environment()
        for name in (*MEMBER_FIXTURES, *EMBEDDING_VARIABLES):
            value = os.environ[name]
            assert PUBLIC_HOST in value, f"the default of {name} is not on {PUBLIC_HOST}: {value}"
            monkeypatch.setenv(name, value.replace(PUBLIC_HOST, base_url))
        yield Mirror(base_url, requests, cache_dir, vectors)
    finally:
        watchdog.cancel()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def fixture_pairs(path: Path) -> List[Tuple[str, str, str]]:
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        example = json.loads(line)
        if example["gold_label"] != "-":
            pairs.append((example["sentence1"], example["sentence2"], example["gold_label"]))
    return pairs


def tokens_of(instance, field: str = "tokens") -> List[str]:
    return [token.text for token in instance[field].tokens]


def experiment_params(config: str) -> Params:
    return Params.from_file(str(CONFIG_ROOT / config))


def assert_only_archives_were_requested(mirror: Mirror) -> None:
    assert mirror.requests, "nothing was requested from the mirror"
    for request in mirror.requests:
        assert "!" not in request and "#" not in request, request
        assert request.split(" ", 1)[1].endswith(".zip"), request


def test_sst_reader_reads_the_default_train_member(mirror):
    params = experiment_params("sst_hardkuma.jsonnet")
    assert params["train_data_path"] == mirror.base_url + (
        "sentiment/trainDevTestTrees_PTB.zip!trees/train.txt"
    )
    reader = DatasetReader.from_params(params.pop("dataset_reader"))
    instances = list(reader.read(params["train_data_path"]))
    expected = list(SstTreeDatasetReader().read(str(MEMBER_FIXTURES["SST_TRAIN"])))
    assert [tokens_of(i) for i in instances] == [tokens_of(i) for i in expected]
    assert [i["label"].label for i in instances] == [i["label"].label for i in expected]
    assert_only_archives_were_requested(mirror)
    # Downloaded and extracted into the temporary cache.
    assert list(mirror.cache_dir.glob("*-extracted/trees/train.txt"))


def test_snli_reader_reads_the_default_train_member(mirror):
    params = experiment_params("snli_hardkuma_attention.jsonnet")
    assert params["train_data_path"].startswith(mirror.base_url + "projects/snli/snli_1.0.zip!")
    reader = DatasetReader.from_params(params.pop("dataset_reader"))
    instances = list(reader.read(params["train_data_path"]))
    expected = fixture_pairs(MEMBER_FIXTURES["SNLI_TRAIN"])
    assert len(instances) == len(expected) > 0
    assert [i["metadata"]["premise_tokens"] for i in instances] == [
        [t.text for t in HardKumaSnliReader()._tokenizer.tokenize(premise)]
        for premise, _, _ in expected
    ]
    assert [i["label"].label for i in instances] == [label for _, _, label in expected]
    assert_only_archives_were_requested(mirror)


@pytest.mark.parametrize("config", ["sst_hardkuma.jsonnet", "snli_hardkuma_attention.jsonnet"])
def test_embedder_loads_the_default_glove_member(mirror, config):
    params = experiment_params(config)
    reader = DatasetReader.from_params(params.pop("dataset_reader"))
    vocab = Vocabulary.from_instances(reader.read(params["train_data_path"]))
    embedder_params = params["model"]["text_field_embedder"]["token_embedders"]["tokens"]
    assert embedder_params["pretrained_file"] == (
        f"({mirror.base_url}data/glove.840B.300d.zip)#glove.840B.300d.txt"
    )
    embedding = TokenEmbedder.from_params(vocab=vocab, params=embedder_params)
    found = [w for w in vocab.get_token_to_index_vocabulary("tokens") if w in mirror.glove_vectors]
    assert found, "no fixture word has a vector in the served GloVe member"
    for word in found:
        row = embedding.weight[vocab.get_token_index(word, "tokens")]
        assert torch.allclose(row, torch.tensor(mirror.glove_vectors[word]))
    assert_only_archives_were_requested(mirror)


def test_sst_hardkuma_trains_from_the_default_sources(mirror, tmp_path):
    """`allennlp train training_config/sst_hardkuma.jsonnet` with no data variables set."""
    params = Params.from_file(
        str(CONFIG_ROOT / "sst_hardkuma.jsonnet"), json.dumps({"trainer.num_epochs": 1})
    )
    serialization_dir = tmp_path / "run"
    train_model(params, str(serialization_dir))  # what `allennlp train` runs
    assert (serialization_dir / "best.th").exists()
    metrics = json.loads((serialization_dir / "metrics.json").read_text())
    assert "test_accuracy" in metrics  # the test member was read too
    assert_only_archives_were_requested(mirror)
    # Each archive was downloaded once (a HEAD for its ETag, then a GET), not once per member.
    gets = [request for request in mirror.requests if request.startswith("GET ")]
    assert sorted(gets) == [
        "GET /data/glove.840B.300d.zip",
        "GET /sentiment/trainDevTestTrees_PTB.zip",
    ]


def test_a_member_of_a_local_zip_is_read(tmp_path):
    archive = tmp_path / "trees.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(MEMBER_FIXTURES["SST_DEV"], "trees/dev.txt")
    cache = tmp_path / "cache"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(allennlp.common.file_utils, "CACHE_DIRECTORY", str(cache))
        instances = list(SstTreeDatasetReader().read(f"{archive}!trees/dev.txt"))
        assert len(instances) == len(MEMBER_FIXTURES["SST_DEV"].read_text().splitlines())
        with pytest.raises(FileNotFoundError, match=r"trees/nothing\.txt.*trees\.zip"):
            data_file_path(f"{archive}!trees/nothing.txt")


def test_a_local_file_with_an_exclamation_mark_in_its_name_is_read_as_it_is(tmp_path):
    path = tmp_path / "wow!.txt"
    path.write_text(MEMBER_FIXTURES["SST_DEV"].read_text(encoding="utf-8"), encoding="utf-8")
    assert data_file_path(path) == str(path)
    assert len(list(SstTreeDatasetReader().read(str(path)))) == 8
