import gzip
import json
import random
import subprocess
import sys

import numpy as np
import pytest

from hardkuma_allennlp.dataset_readers.beer import BeerAdvocateDatasetReader
from tests import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "scripts" / "make_synthetic_beer.py"
SIZES = ["--train", "200", "--heldout", "50", "--annotated", "50", "--dim", "8"]
REVIEW_FILES = [f"reviews.aspect{a}.{s}.txt.gz" for a in range(3) for s in ("train", "heldout")]
VECTORS = "review+wiki.filtered.8.txt.gz"
ALL_FILES = sorted(REVIEW_FILES + ["annotations.json", VECTORS])


from scripts import make_synthetic_beer as synthetic  # noqa: E402


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    output = tmp_path_factory.mktemp("synthetic_beer")
    synthetic.main(["--output", str(output), "--seed", "3"] + SIZES)
    return output


def review_rows(path):
    """(scores, tokens) per line of a review file."""
    rows = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            scores, text = line.rstrip("\n").split("\t")
            rows.append(([float(s) for s in scores.split()], text.split(" ")))
    return rows


def annotation_items(data_dir):
    lines = (data_dir / "annotations.json").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_writes_the_files_with_the_requested_sizes(data_dir):
    assert sorted(p.name for p in data_dir.iterdir()) == ALL_FILES
    for name in REVIEW_FILES:
        assert len(review_rows(data_dir / name)) == (200 if "train" in name else 50)
    assert len(annotation_items(data_dir)) == 50


@pytest.mark.parametrize("aspect", [0, 1, 2])
def test_reader_reads_every_file(data_dir, aspect):
    reader = BeerAdvocateDatasetReader(aspect=aspect)
    for name in REVIEW_FILES:
        rows = review_rows(data_dir / name)
        instances = list(reader.read(data_dir / name))
        assert len(instances) == len(rows)
        for instance, (scores, tokens) in zip(instances, rows):
            assert instance["label"].tensor.item() == pytest.approx(scores[aspect])
            assert instance["metadata"]["tokens"] == tokens
    items = annotation_items(data_dir)
    instances = list(reader.read(data_dir / "annotations.json"))
    assert len(instances) == len(items)
    with_gold = [i for i in instances if i["metadata"]["has_gold_rationale"]]
    assert len(with_gold) >= 0.8 * len(instances)
    for instance, item in zip(instances, items):
        gold = instance["gold_rationale"].tensor
        assert gold.shape == (len(item["x"]),)
        if item[str(aspect)]:
            assert int(gold.sum()) == sum(end - start for start, end in item[str(aspect)])


def test_review_lengths_are_between_100_and_300_tokens(data_dir):
    lengths = [len(tokens) for name in REVIEW_FILES for _, tokens in review_rows(data_dir / name)]
    lengths += [len(item["x"]) for item in annotation_items(data_dir)]
    assert 100 <= min(lengths) and max(lengths) <= 300
    assert 130 <= np.mean(lengths) <= 200  # skewed: most reviews are short, a few long


def test_scores_are_tenths_and_positively_correlated(data_dir):
    scores = np.array([s for name in REVIEW_FILES for s, _ in review_rows(data_dir / name)])
    assert scores.shape[1] == 5
    assert ((scores >= 0) & (scores <= 1)).all()
    assert np.allclose(scores * 10, np.round(scores * 10))
    correlation = np.corrcoef(scores.T)
    pairwise = correlation[np.triu_indices(5, 1)]
    assert (pairwise > 0).all()
    assert pairwise.mean() > 0.4
    # ... but not so much that one aspect's score gives another away.
    assert pairwise.mean() < 0.9


def test_gold_spans_are_aspect_sentences_of_a_plausible_share(data_dir):
    items = annotation_items(data_dir)
    total = sum(len(item["x"]) for item in items)
    for aspect in range(5):
        annotated = 0
        for item in items:
            tokens = item["x"]
            assert item["raw"] == " ".join(tokens)
            for start, end in item[str(aspect)]:
                sentence = tokens[start:end]
                assert 0 <= start < end <= len(tokens)
                assert set(sentence) & synthetic.CUES[aspect], (aspect, sentence)
                # A whole sentence: bounded by full stops, none inside.
                assert "." not in sentence
                assert start == 0 or tokens[start - 1] == "."
                assert end < len(tokens) and tokens[end] == "."
                annotated += end - start
        if aspect < 3:
            assert 0.05 <= annotated / total <= 0.30, aspect
    # Distractor sentences are never marked.
    for item in items:
        marked = {i for a in range(5) for s, e in item[str(a)] for i in range(s, e)}
        assert not {"bartender", "brewery", "dollars", "label"} & {item["x"][i] for i in marked}


def test_vectors_cover_every_token(data_dir):
    vectors = {}
    with gzip.open(data_dir / VECTORS, "rt", encoding="utf-8") as handle:
        for line in handle:
            word, *values = line.rstrip("\n").split(" ")
            assert len(values) == 8
            vectors[word] = np.array([float(v) for v in values])
    tokens = {t for name in REVIEW_FILES for _, ts in review_rows(data_dir / name) for t in ts}
    tokens |= {t for item in annotation_items(data_dir) for t in item["x"]}
    assert tokens <= set(vectors)


def test_sentiment_words_of_one_polarity_are_closer():
    vectors = {}
    for line in synthetic.make_vectors(seed=5, dim=50):
        word, *values = line.split(" ")
        vectors[word] = np.array([float(v) for v in values])

    def cosine(a, b):
        return vectors[a] @ vectors[b] / np.linalg.norm(vectors[a]) / np.linalg.norm(vectors[b])

    positive = ["great", "excellent", "amazing", "superb", "wonderful"]
    negative = ["awful", "terrible", "horrible", "disgusting", "vile"]
    same = np.mean([cosine(a, b) for a in positive for b in positive if a < b])
    opposite = np.mean([cosine(a, b) for a in positive for b in negative])
    assert same > opposite + 0.1


def test_same_seed_same_files_other_seed_different_files(data_dir, tmp_path):
    again, other = tmp_path / "again", tmp_path / "other"
    subprocess.run(
        [sys.executable, str(SCRIPT), "--output", str(again), "--seed", "3"] + SIZES,
        check=True,
        capture_output=True,
    )
    synthetic.main(["--output", str(other), "--seed", "4"] + SIZES)
    for name in ALL_FILES:
        assert (again / name).read_bytes() == (data_dir / name).read_bytes(), name
        assert (other / name).read_bytes() != (data_dir / name).read_bytes(), name


def explained_share(scores, aspect):
    """R^2 of a least-squares fit of the aspect's score on the other four (and a constant)."""
    design = np.hstack([np.ones((len(scores), 1)), np.delete(scores, aspect, axis=1)])
    weights = np.linalg.lstsq(design, scores[:, aspect], rcond=None)[0]
    return 1 - np.mean((scores[:, aspect] - design @ weights) ** 2) / scores[:, aspect].var()


def test_aspect_files_are_decorrelated_subsets_and_correlated_writes_plain_samples(
    data_dir, tmp_path, capsys
):
    plain = tmp_path / "plain"
    synthetic.main(["--output", str(plain), "--seed", "3", "--correlated"] + SIZES)
    printed = capsys.readouterr().out.splitlines()
    # The annotated reviews and the vectors are the same either way.
    for name in ("annotations.json", VECTORS):
        assert (plain / name).read_bytes() == (data_dir / name).read_bytes()
    for aspect in range(3):
        name = f"reviews.aspect{aspect}.train.txt.gz"
        subset = np.array([s for s, _ in review_rows(data_dir / name)])
        sample = np.array([s for s, _ in review_rows(plain / name)])
        # The generator prints the share of the aspect's variance the other scores explain.
        assert f"they explain {explained_share(sample, aspect):.2f}" in printed[aspect], printed
        # The other scores explain much less of the aspect's score in its own file ...
        assert explained_share(subset, aspect) < explained_share(sample, aspect) - 0.15, aspect
        # ... but the scores still rise together (one latent quality drives all five).
        correlation = np.corrcoef(subset.T)[aspect]
        assert (np.delete(correlation, aspect) > 0.1).all(), aspect
        # Only the aspect's own file is decorrelated for it.
        other_file = np.array(
            [s for s, _ in review_rows(data_dir / f"reviews.aspect{(aspect + 1) % 3}.train.txt.gz")]
        )
        assert explained_share(subset, aspect) < explained_share(other_file, aspect), aspect


def test_decorrelated_subset_keeps_the_reviews_the_other_scores_predict_worst():
    rng = random.Random(0)
    lines = synthetic.decorrelated_review_lines(rng, 20, aspect=1)
    assert len(lines) == 20
    assert synthetic.decorrelated_review_lines(rng, 0, aspect=1) == []
    # The same pool again: the kept reviews are the 20 largest residuals of the 60, in order.
    rng = random.Random(0)
    pool = [synthetic.make_review(rng)[:2] for _ in range(3 * 20)]
    scores = np.array([s for _, s in pool])
    design = np.hstack([np.ones((60, 1)), np.delete(scores, 1, axis=1)])
    residuals = np.abs(scores[:, 1] - design @ np.linalg.lstsq(design, scores[:, 1], rcond=None)[0])
    kept = sorted(np.argsort(-residuals, kind="stable")[:20])
    assert lines == [f"{synthetic.format_scores(pool[i][1])}\t{' '.join(pool[i][0])}" for i in kept]
