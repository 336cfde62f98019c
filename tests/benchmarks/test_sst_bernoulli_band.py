"""`benchmarks.diagnostics.sst_bernoulli_band`: parsing the authors' log and the table."""

import json

from benchmarks.diagnostics import sst_bernoulli_band as band

AUTHORS_LOG = """\
Epoch 0 Iter 100 time=0m loss=-21.0 ce 1.62 p1 0.40 zsum_cost 0.09 obj 1.72
Epoch 0 Iter 200 time=0m loss=-20.6 ce 1.66 p1 0.50 zsum_cost 0.07 obj 1.73
# epoch 0 iter 341: dev loss -8.8 ce 1.58 acc 0.2625 p0 1.0 pc 0.0 p1 0.0 selected 0.0
Epoch 1 Iter 400 time=0m loss=-20.6 ce 1.66 p1 0.60 zsum_cost 0.07 obj 1.73
# epoch 1 iter 683: dev loss -8.8 ce 1.58 acc 0.3 p0 0.2 pc 0.0 p1 0.8 selected 0.8
"""


def test_the_authors_log_gives_sampled_and_selected_shares_per_epoch():
    curve = band.authors_curve(AUTHORS_LOG)
    assert [point["epoch"] for point in curve] == [1, 2]
    assert curve[0]["train_sampled"] == 0.45 and curve[0]["dev_selected"] == 0.0
    assert curve[1]["train_sampled"] == 0.6 and curve[1]["dev_selected"] == 0.8
    assert curve[1]["dev_accuracy"] == 0.3


def test_the_table_comes_from_the_kept_records(tmp_path, monkeypatch):
    monkeypatch.setattr(band, "KEPT", tmp_path)
    assert band.table() == "Not run.\n"
    point = {"epoch": 1, "train_sampled": 0.4, "dev_selected": 0.01, "dev_accuracy": 0.25}
    ours = {
        "best_epoch": 1, "test_accuracy": 0.26, "test_selected": 0.0, "curve": [point],
        "dev_probability_quantiles": {"0.05": 0.41, "0.5": 0.45, "0.95": 0.49},
    }  # fmt: skip
    (tmp_path / "ours_l0.003").mkdir()
    (tmp_path / "ours_l0.003" / "record.json").write_text(json.dumps(ours))
    text = band.table()
    assert "| 1 | 40.0 | 1.0 | 25.0 | not run |  |  |" in text
    assert "5 %: 0.410, 50 %: 0.450, 95 %: 0.490" in text
