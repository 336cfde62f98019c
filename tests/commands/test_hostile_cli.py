"""A probe of hostile and careless command lines, run through the `allennlp` CLI as a user runs it.

Every case asserts three things: the command ends as expected (exit 0, or a clear error whose last
line is one of the plugin's or AllenNLP's error types with the expected message, never a bare
`KeyError`, `RuntimeError` or `UnicodeEncodeError`); no file the command was only asked to read
changed (the case's inputs, the fixtures, the archive); and nothing appeared outside the case's
temporary folder (the project root's entries are the same before and after).
"""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, List, NamedTuple, Optional

import pytest
from allennlp.commands.train import train_model_from_file
from allennlp.data import Vocabulary

from tests import CONFIG_ROOT, FIXTURES_ROOT, PROJECT_ROOT

ALLENNLP = str(Path(sys.executable).parent / "allennlp")
CLEAR_ERRORS = (
    "ConfigurationError",
    "InputFormatError",
    "TextClassificationFormatError",
    "InputLineError",
)
TEXT_DATA = FIXTURES_ROOT / "text_classification"
TEXT_ENV = {
    "TEXT_TRAIN": str(TEXT_DATA / "train.csv"),
    "TEXT_DEV": str(TEXT_DATA / "dev.jsonl"),
    "TEXT_EMBEDDINGS": "",
    "EMBEDDING_DIM": "10",
    "LOWERCASE": "true",
    "CUDA_DEVICE": "-1",
    "USE_AMP": "false",
}
TINY = {
    "model.encoder.gate.encoder.hidden_size": 8,
    "model.encoder.encoder.encoder.hidden_size": 8,
    "data_loader.batch_size": 8,
    "trainer.num_epochs": 1,
}


@pytest.fixture(scope="module")
def text_archive(tmp_path_factory) -> Path:
    """A text classifier trained on the fixture CSV (labels 'negative' and 'positive')."""
    monkeypatch = pytest.MonkeyPatch()
    for key, value in TEXT_ENV.items():
        monkeypatch.setenv(key, value)
    directory = tmp_path_factory.mktemp("text_classifier")
    try:
        train_model_from_file(
            CONFIG_ROOT / "text_classification_hardkuma.jsonnet",
            directory,
            overrides=json.dumps(TINY),
        )
    finally:
        monkeypatch.undo()
    return directory / "model.tar.gz"


class Case(NamedTuple):
    name: str
    #: The arguments after `allennlp`, given the case's folder and the two archives.
    argv: Callable[[Path, Path, Path], List[str]]
    #: None: the command succeeds; else a text that its error's last line contains.
    error: Optional[str]
    #: Files the case writes into its folder before running, name -> text.
    files: Dict[str, str] = {}
    stdin: str = ""
    #: Files of the folder that the command is asked to write.
    outputs: tuple = ()


def _train(config: Path, folder: Path, **overrides) -> List[str]:
    small = TINY if config == TEXT_CONFIG else {}
    return [
        "train",
        str(config),
        "-s",
        str(folder / "run"),
        "-o",
        json.dumps({**small, **overrides}),
    ]


TEXT_CONFIG = CONFIG_ROOT / "text_classification_hardkuma.jsonnet"
SST_CONFIG = FIXTURES_ROOT / "configs" / "sst_hardkuma.jsonnet"

CASES = [
    Case(
        "a test label the model never saw",
        lambda d, sst, text: ["evaluate", str(text), str(d / "test.jsonl")],
        "test.jsonl, line 2: label 'neutral' is not one of the model's labels",
        files={
            "test.jsonl": '{"text": "a fine film", "label": "positive"}\n'
            '{"text": "a film", "label": "neutral"}\n'
        },
    ),
    Case(
        "a lone surrogate in a training label",
        lambda d, sst, text: _train(TEXT_CONFIG, d, train_data_path=str(d / "train.jsonl")),
        "train.jsonl, line 2: the value of 'label' (character 1) holds a lone surrogate",
        files={
            "train.jsonl": '{"text": "a fine film", "label": "positive"}\n'
            '{"text": "a bad film", "label": "\\ud800"}\n'
        },
    ),
    Case(
        "training and validation data with a single class",
        lambda d, sst, text: _train(
            TEXT_CONFIG,
            d,
            train_data_path=str(d / "train.jsonl"),
            validation_data_path=str(d / "train.jsonl"),
        ),
        "a classifier needs at least two classes",
        files={
            "train.jsonl": '{"text": "a fine film", "label": "positive"}\n'
            '{"text": "a good film", "label": "positive"}\n'
        },
    ),
    Case(
        "a misspelt trainer key",
        lambda d, sst, text: _train(SST_CONFIG, d, **{"trainer.num_epoch": 1}),
        "trainer.num_epoch (did you mean trainer.num_epochs?)",
    ),
    Case(
        "predict on a GPU that is not there",
        lambda d, sst, text: ["predict", str(sst), str(d / "in.jsonl"), "--cuda-device", "99"],
        "predict: --cuda-device 99 asks for a GPU",
        files={"in.jsonl": '{"sentence": "a fine film ."}\n'},
    ),
    Case(
        "evaluate on a GPU that is not there",
        lambda d, sst, text: ["evaluate", str(sst), str(FIXTURES_ROOT / "sst" / "dev.txt"),
                              "--cuda-device", "99"],  # fmt: skip
        "evaluate: --cuda-device 99 asks for a GPU",
    ),
    Case(
        "rationales read from standard input",
        lambda d, sst, text: ["rationales", str(sst), "-", "--metrics", str(d / "m.json")],
        None,
        stdin='{"sentence": "a fine film ."}\n{"sentence": "too long ."}\n',
        outputs=("m.json",),
    ),
    Case(
        "rationales with the dataset reader on standard input",
        lambda d, sst, text: ["rationales", str(sst), "-", "--use-dataset-reader"],
        "--use-dataset-reader reads the dataset's own files, not standard input",
        stdin="(3 (2 a) (3 film))\n",
    ),
    Case(
        "predict written onto its own input",
        lambda d, sst, text: ["predict", str(sst), str(d / "in.jsonl"), "--output-file",
                              str(d / "in.jsonl")],  # fmt: skip
        "is also an input",
        files={"in.jsonl": '{"sentence": "a fine film ."}\n'},
    ),
    Case(
        "evaluate's metrics written onto the model",
        lambda d, sst, text: ["evaluate", str(sst), str(FIXTURES_ROOT / "sst" / "dev.txt"),
                              "--output-file", str(sst)],  # fmt: skip
        "is also an input",
    ),
    Case(
        "rationales metrics streamed to a device",
        lambda d, sst, text: ["rationales", str(sst), str(d / "in.jsonl"), "--metrics",
                              "/dev/null"],  # fmt: skip
        None,
        files={"in.jsonl": '{"sentence": "a fine film ."}\n'},
    ),
    Case(
        "a CSV with a document longer than the csv module's field limit",
        lambda d, sst, text: ["evaluate", str(text), str(d / "long.csv")],
        None,
        files={"long.csv": 'text,label\n"' + "fine, " * 30_000 + 'film",positive\n'},
    ),
]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _snapshot(paths) -> Dict[str, str]:
    return {str(p): _digest(p) for p in paths if p.is_file()}


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_command_line(case, fixture_archive_path, text_archive, tmp_path):
    sst_archive = fixture_archive_path("sst_hardkuma")
    folder = tmp_path / "case"
    folder.mkdir()
    for name, text in case.files.items():
        (folder / name).write_text(text, encoding="utf-8")
    watched = [*folder.iterdir(), sst_archive, text_archive, *FIXTURES_ROOT.rglob("*")]
    before = _snapshot(watched)
    root_before = sorted(os.listdir(PROJECT_ROOT))
    env = {**os.environ, **TEXT_ENV, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [ALLENNLP, *case.argv(folder, sst_archive, text_archive), "--include-package",
         "hardkuma_allennlp"],
        cwd=PROJECT_ROOT, env=env, input=case.stdin, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    if case.error is None:
        assert result.returncode == 0, result.stderr[-3000:]
    else:
        assert result.returncode != 0
        assert last.split(":")[0].split(".")[-1] in CLEAR_ERRORS, result.stderr[-3000:]
        assert case.error in last, last
    after = _snapshot(watched)
    changed = sorted(
        path for path in before if after.get(path) != before[path]
        and Path(path).name not in case.outputs
    )  # fmt: skip
    assert changed == [], f"files it was only asked to read changed: {changed}"
    assert sorted(os.listdir(PROJECT_ROOT)) == root_before
    for name in case.outputs:
        assert (folder / name).stat().st_size > 0
    vocabulary = folder / "run" / "vocabulary"
    if vocabulary.exists():
        # A vocabulary that a failed training left behind is whole: it loads.
        Vocabulary.from_files(str(vocabulary))
