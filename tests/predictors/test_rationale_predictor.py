import pytest
from allennlp.commands.train import train_model_from_file
from allennlp.common.checks import ConfigurationError
from allennlp.models.archival import load_archive
from allennlp.predictors import Predictor

from hardkuma_allennlp.predictors.input_lines import InputLineError
from tests import FIXTURES_ROOT, PROJECT_ROOT


@pytest.fixture(scope="module")
def archive_path(tmp_path_factory):
    directory = tmp_path_factory.mktemp("rationale_predictor")
    train_model_from_file(FIXTURES_ROOT / "configs" / "sst_hardkuma.jsonnet", directory)
    return directory / "model.tar.gz"


@pytest.fixture(scope="module")
def archive(archive_path):
    return load_archive(archive_path)


def test_default_predictor_outputs_rationale(archive):
    predictor = Predictor.from_archive(archive)
    assert type(predictor).__name__ == "RationalePredictor"
    output = predictor.predict_json({"sentence": "A gorgeous, witty, seductive movie."})
    assert output["tokens"] == ["a", "gorgeous", ",", "witty", ",", "seductive", "movie", "."]
    assert len(output["z"]) == len(output["tokens"])
    assert all(0.0 <= g <= 1.0 for g in output["z"])
    assert output["rationale"] == [t for t, g in zip(output["tokens"], output["z"]) if g != 0]
    assert output["label"] in {"0", "1", "2", "3", "4"}
    assert len(output["probs"]) == 5 and abs(sum(output["probs"]) - 1) < 1e-5
    words = output["highlight"].split()
    assert len(words) == len(output["tokens"])
    for word, token, g in zip(words, output["tokens"], output["z"]):
        assert word == (f"[{token}]" if g != 0 else token)


def test_batched_prediction_equals_one_at_a_time(archive):
    predictor = Predictor.from_archive(archive)
    inputs = [
        {"sentence": "The plot is awful."},
        {"sentence": "It is a movie with lovely performances and a wonderful script ."},
        {"sentence": "Fine."},
    ]
    batched = predictor.predict_batch_json(inputs)
    single = [predictor.predict_json(i) for i in inputs]
    for b, s in zip(batched, single):
        assert b["tokens"] == s["tokens"]
        assert b["label"] == s["label"]
        assert b["z"] == pytest.approx(s["z"], abs=1e-5)
        assert b["probs"] == pytest.approx(s["probs"], abs=1e-5)


def test_predicting_from_tree_instances_keeps_gold_word_labels(archive):
    predictor = Predictor.from_archive(archive)
    instances = list(predictor._dataset_reader.read(str(FIXTURES_ROOT / "sst" / "dev.txt")))
    outputs = predictor.predict_batch_instance(instances[:3])
    for instance, output in zip(instances, outputs):
        assert output["tokens"] == instance["metadata"]["tokens"]
        assert output["word_labels"] == instance["metadata"]["word_labels"]
        assert len(output["word_labels"]) == len(output["z"])


def test_missing_text_key_is_a_clear_error(archive):
    predictor = Predictor.from_archive(archive)
    with pytest.raises(ConfigurationError, match=r"\['sentence', 'review', 'text'\]"):
        predictor.predict_json({"body": "no"})


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"sentence": null}', "'sentence' must be a string, got null"),
        ('{"sentence": 5}', "'sentence' must be a string, got 5"),
        ('{"sentence": ""}', "'sentence' is empty"),
        ('{"sentence": "   "}', "'sentence' is empty"),
        (
            '{"body": "a fine film"}',
            "expected the key.s. 'sentence' or 'review' or 'text', got \\['body'\\]",
        ),
        ('["a fine film"]', "expected a JSON object, got list"),
        ('{"sentence": "a fine', "not valid JSON .* at column"),
    ],
)
def test_bad_input_lines_get_a_message_naming_the_line(archive, line, message):
    predictor = Predictor.from_archive(archive)
    predictor.load_line('{"sentence": "a fine film"}')
    with pytest.raises(InputLineError, match=f"input line 2: {message}"):
        predictor.load_line(line)


def test_predict_stops_at_a_bad_line_and_keeps_what_was_predicted(archive_path, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    inputs = tmp_path / "input.jsonl"
    good = '{"sentence": "a gorgeous , witty movie ."}\n'
    inputs.write_text(good + good + '{"sentence": null}\n' + good)
    output = tmp_path / "out.jsonl"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "allennlp"), "predict", str(archive_path)]
        + [str(inputs), "--output-file", str(output), "--silent"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert f"InputLineError: {inputs}: input line 3: 'sentence' must be a string, got null" in (
        result.stderr
    )
    assert len(output.read_text().splitlines()) == 2
