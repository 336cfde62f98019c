"""The ERASER export validates against the format description, and the HTML report carries
what it says (parsed here; a browser is not needed)."""

import copy
import json
from html.parser import HTMLParser

import pytest

from hardkuma_allennlp.interpret import eraser, html_report
from hardkuma_allennlp.interpret.rationale_evaluator import RationaleEvaluator, summarize
from tests import FIXTURES_ROOT


def evaluate(archive, data):
    instances = list(archive.dataset_reader.read(data))
    for instance in instances:
        archive.dataset_reader.apply_token_indexers(instance)
    records = list(RationaleEvaluator(archive.model).evaluate(instances))
    return records, summarize(records)


@pytest.fixture(scope="module")
def sst(fixture_archive):
    return evaluate(fixture_archive("sst_hardkuma"), FIXTURES_ROOT / "sst" / "test.txt")


@pytest.fixture(scope="module")
def snli(fixture_archive):
    data = FIXTURES_ROOT / "snli" / "snli_original.jsonl"
    return evaluate(fixture_archive("snli_hardkuma_attention"), data)


@pytest.fixture(scope="module")
def beer(fixture_archive):
    return evaluate(fixture_archive("beer_hardkuma"), FIXTURES_ROOT / "beer" / "annotations.json")


# ERASER.


def test_export_validates_and_holds_the_records(sst, snli):
    for records, _ in (sst, snli):
        lines = [json.dumps(eraser.record_to_eraser(r)) for r in records]
        for number, line in enumerate(lines, start=1):
            prediction = json.loads(line)
            eraser.validate(prediction, number)
            record = records[number - 1]
            assert prediction["classification"] == record["prediction"]
            assert prediction["classification_scores"] == pytest.approx(record["probabilities"])
            assert [t["threshold"] for t in prediction["thresholded_scores"]] == record["bins"]
            for rationale, name in zip(prediction["rationales"], record["tokens"]):
                selected = [False] * len(record["tokens"][name])
                for span in rationale["hard_rationale_predictions"]:
                    for i in range(span["start_token"], span["end_token"]):
                        selected[i] = True
                assert selected == record["rationale"][name]
                assert len(rationale["soft_rationale_predictions"]) == len(selected)
            # The comprehensiveness score of the predicted class is what the record measured.
            label = record["prediction"]
            without = prediction["comprehensiveness_classification_scores"][label]
            assert record["full"] - without == pytest.approx(record["comprehensiveness"])
    assert len(json.loads(lines[0])["rationales"]) == 2  # SNLI: premise and hypothesis


def test_regression_records_are_refused(beer):
    records, _ = beer
    with pytest.raises(eraser.EraserFormatError, match="regression"):
        eraser.record_to_eraser(records[0])


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda p: p.pop("annotation_id"), "annotation_id"),
        (lambda p: p.update(rationales={}), "rationales"),
        (lambda p: p["rationales"][0].pop("docid"), "docid"),
        (
            lambda p: p["rationales"][0]["hard_rationale_predictions"].append(
                {"start_token": 3, "end_token": 2}
            ),
            "bad span",
        ),
        (
            lambda p: p["rationales"][0].update(
                hard_rationale_predictions=[
                    {"start_token": 0, "end_token": 3},
                    {"start_token": 2, "end_token": 4},
                ]
            ),
            "overlaps",
        ),
        (
            lambda p: p["rationales"][0].update(
                hard_rationale_predictions=[{"start_token": 0, "end_token": 999}]
            ),
            "ends after",
        ),
        (lambda p: p["rationales"][0].update(soft_rationale_predictions=["x"]), "numbers"),
        (lambda p: p.update(classification="no such label"), "classification"),
        (
            lambda p: p["classification_scores"].update(
                {k: 0.9 for k in p["classification_scores"]}
            ),
            "sum to",
        ),
        (
            lambda p: p["sufficiency_classification_scores"].pop(
                next(iter(p["sufficiency_classification_scores"]))
            ),
            "labels",
        ),
        (lambda p: p["thresholded_scores"][0].update(threshold=2.0), "threshold"),
    ],
)
def test_validate_rejects_what_the_format_forbids(sst, mutate, message):
    records, _ = sst
    prediction = eraser.record_to_eraser(records[0])
    eraser.validate(copy.deepcopy(prediction), 1)
    bad = copy.deepcopy(prediction)
    mutate(bad)
    with pytest.raises(eraser.EraserFormatError, match=message):
        eraser.validate(bad, 7)
    with pytest.raises(eraser.EraserFormatError, match="line 7"):
        eraser.validate(bad, 7)


# HTML.


class Page(HTMLParser):
    """Collects the token spans, heatmap tables, metric cells and external references."""

    def __init__(self):
        super().__init__()
        self.tokens, self.metrics, self.heatmaps, self.external = [], {}, 0, []
        self._span, self._metric = None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("src", "href"):
            if key in attrs:
                self.external.append(attrs[key])
        if tag == "link" or tag == "script":
            self.external.append(tag)
        if tag == "span" and "tok" in attrs.get("class", "").split():
            self._span = {"classes": attrs["class"].split(), "style": attrs.get("style", "")}
        if tag == "td" and attrs.get("id", "").startswith("metric-"):
            self._metric = attrs["id"][len("metric-") :]
        if tag == "table" and attrs.get("class") == "heatmap":
            self.heatmaps += 1

    def handle_data(self, data):
        if self._span is not None:
            self._span["text"] = data
            self.tokens.append(self._span)
            self._span = None
        if self._metric is not None:
            self.metrics[self._metric] = float(data)
            self._metric = None


def parse(text):
    page = Page()
    page.feed(text)
    return page


def test_report_shades_selected_tokens_only_and_shows_the_summary(sst):
    records, summary = sst
    page = parse(html_report.render(records, summary, "SST"))
    assert page.external == []  # self-contained
    body_tokens = page.tokens[1:]  # the first is the legend's example
    expected = [
        (token, gate)
        for record in records
        for token, gate in zip(record["tokens"]["tokens"], record["gates"]["tokens"])
    ]
    assert [t["text"] for t in body_tokens] == [token for token, _ in expected]
    for span, (_, gate) in zip(body_tokens, expected):
        assert ("background" in span["style"]) == (gate != 0)
    assert page.metrics["inputs"] == len(records)
    assert page.metrics["aopc_comprehensiveness"] == pytest.approx(
        summary["aopc_comprehensiveness"], abs=1e-4
    )
    assert page.heatmaps == 0


def test_report_marks_gold_spans(beer):
    records, summary = beer
    page = parse(html_report.render(records, summary))
    gold_tokens = [t for t in page.tokens if "gold" in t["classes"]][1:]  # minus the legend
    expected = sum(sum(r["gold_rationale"]["tokens"]) for r in records if "gold_rationale" in r)
    assert len(gold_tokens) == expected > 0
    assert page.metrics["token_f1"] == pytest.approx(summary["token_f1"], abs=1e-4)


def test_report_draws_one_heatmap_per_snli_pair(snli):
    records, summary = snli
    text = html_report.render(records, summary)
    page = parse(text)
    assert page.heatmaps == len(records)
    first = records[0]
    # One row per premise token, one column per hypothesis token (plus the header cells).
    table = text.split('<table class="heatmap">')[1].split("</table>")[0]
    assert table.count("<tr>") == len(first["tokens"]["premise"]) + 1
    row = table.split("<tr>")[2]
    assert row.count("<td") == len(first["tokens"]["hypothesis"])


def test_report_shows_bidirectional_controls_and_names_the_classes(sst, fixture_archive):
    records, summary = sst
    record = copy.deepcopy(records[0])
    # A right-to-left override would show every token after it reversed.
    record["tokens"]["tokens"][0] = "\u202e" + record["tokens"]["tokens"][0]
    record["tokens"]["tokens"][1] += "\u2066\u200f"
    text = html_report.render([record], summary, "SST \u202e report", "on \u061c input")
    assert not html_report.BIDI_CONTROLS & set(text)
    assert text.count(">U+202E</span>") == 2 and "<title>SST [U+202E] report</title>" in text
    assert ">U+2066</span>" in text and ">U+200F</span>" in text and ">U+061C</span>" in text
    # Each bar is named by its class, in the order of the model's label vocabulary.
    vocab = fixture_archive("sst_hardkuma").model.vocab
    names = [vocab.get_token_from_index(i, "labels") for i in range(vocab.get_vocab_size("labels"))]
    probabilities = text.split('class="probs">')[1].split("</div>")[0]
    assert probabilities.startswith('<span class="name">class probabilities:</span>')
    shown = [part.split("</span>")[0] for part in probabilities.split('<span class="label">')[1:]]
    assert shown == names == list(record["probabilities"])
