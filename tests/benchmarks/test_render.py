"""
Every generated page (the README's headline table and examples, the tables of `docs/results/`)
is what `python -m benchmarks.render` makes of the files in `results/` now, so a stale table
cannot land: this renders into a temporary copy, trains nothing and fails naming the pages that
differ.
"""

import re
import shutil

from benchmarks import render
from tests import PROJECT_ROOT


def test_every_generated_page_matches_the_results():
    stale = render.stale()
    assert not stale, f"stale pages {stale}: run `python -m benchmarks.render` and commit them"


def copy_pages(tmp_path):
    for page in render.pages():
        (tmp_path / page).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PROJECT_ROOT / page, tmp_path / page)


def test_a_number_edited_by_hand_is_caught(tmp_path):
    copy_pages(tmp_path)
    page = tmp_path / "docs" / "results" / "snli.md"
    before, section = page.read_text().split("<!-- snli-results:start -->", 1)
    number = re.search(r"\d+\.\d", section).group()
    edited = section.replace(number, f"{float(number) + 0.1:.1f}", 1)
    page.write_text(before + "<!-- snli-results:start -->" + edited)
    assert render.stale(tmp_path) == ["docs/results/snli.md"]


def test_prose_outside_the_generated_sections_is_kept(tmp_path):
    copy_pages(tmp_path)
    page = tmp_path / "docs" / "results" / "sst.md"
    page.write_text(page.read_text() + "\nA note written by hand.\n")
    render.render(tmp_path)
    assert page.read_text().endswith("\nA note written by hand.\n")
    assert render.stale(tmp_path) == []
