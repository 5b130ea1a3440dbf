"""The benchmark's verdicts and table, with made-up numbers: no build is run."""

from __future__ import annotations

import pytest

from bench import deck, run, sheet, subsetter, table, vault, watch
from bench.table import Row, Target, checked, skipped


def test_targets_at_most_and_at_least() -> None:
    at_most = Target(0.8, "≤ 0.8× floor")
    assert at_most.met(0.8) and at_most.met(0.1) and not at_most.met(0.81)
    at_least = Target(1.8, "≥ 180%", at_least=True)
    assert at_least.met(1.8) and at_least.met(2.0) and not at_least.met(1.79)


def test_rows_say_met_not_met_skipped_or_nothing() -> None:
    rows = [
        Row("floor", "1.00 s", "1.00×"),
        checked("deck, cold", "1.10 s", "1.10× floor", 1.1, Target(1.2, "≤ 1.2× floor")),
        checked("deck, edited", "0.70 s", "0.70× ankdown", 0.7, Target(0.55, "≤ 0.55×")),
        skipped("deck, no-op", "ankdown not found (pip install ankdown)", "0.10 s", "≤ 0.3×"),
    ]
    assert [r.verdict for r in rows] == [
        "",
        "met",
        "NOT MET",
        "skipped: ankdown not found (pip install ankdown)",
    ]
    assert table.failed(rows) == [rows[2]]


def test_plain_table_aligns_columns() -> None:
    rows = [Row("a", "1 s", "", "≤ 2 s", True), Row("a longer measure", "10 s", "2.00×")]
    lines = table.plain(rows).splitlines()
    assert lines[0].split() == list(table.COLUMNS)
    assert set(lines[1]) <= {"-", " "}
    starts = {line.index(value) for line, value in zip(lines[2:], ["1 s", "10 s"], strict=True)}
    assert len(starts) == 1  # the time column starts at the same place on every line


def test_markdown_table_for_the_readme() -> None:
    rows = [
        checked("sheet | cold", "9.0 s", "2.0× floor", 2.0, Target(0.8, "≤ 0.8× floor")),
        Row("floor", "4.5 s", "1.00×"),
    ]
    lines = table.markdown(rows).splitlines()
    assert lines[0] == "| measure | time | ratio | target | met |"
    assert lines[1] == "| --- | --- | --- | --- | --- |"
    assert lines[2] == "| sheet \\| cold | 9.0 s | 2.0× floor | ≤ 0.8× floor | **not met** |"
    assert lines[3] == "| floor | 4.5 s | 1.00× |  |  |"


def test_heavy_imports_read_from_importtime() -> None:
    report = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            "import time:       120 |        120 |   markdown",
            "import time:        80 |        900 |     weasyprint.css",
            "import time:        50 |         50 | genanki",
            "import time:        50 |         50 | genankix",
            "up to date: 30 notes; nothing to do",
        ]
    )
    assert deck.heavy_imports(report) == {"weasyprint", "genanki"}
    assert deck.heavy_imports("import time: 1 | 1 | exporter.cli") == set()


@pytest.mark.parametrize(("met", "status"), [(True, 0), (False, 1), (None, 0)])
def test_exit_status_is_1_when_a_target_is_missed(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    met: bool | None,
    status: int,
) -> None:
    monkeypatch.setattr(sheet, "rows", lambda bench: [Row("sheet", "1 s", "", "≤ 2 s", met)])
    monkeypatch.setattr(deck, "rows", lambda bench: [Row("floor", "1 s", "1.00×")])
    monkeypatch.setattr(subsetter, "rows", lambda bench: [])
    monkeypatch.setattr(watch, "rows", lambda bench: [])
    monkeypatch.setattr(vault, "rows", lambda bench, path: [])
    assert run.main(["--quick", "--markdown", "--ankdown", "/nonexistent/ankdown"]) == status
    out = capsys.readouterr().out
    assert "quiet machine" in out
    assert "| sheet | 1 s |" in out and "| floor | 1 s | 1.00× |" in out


def test_the_subsetter_rows_image_is_a_png_pillow_reads() -> None:
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(subsetter.png(16, 9, 200)))
    assert image.size == (16, 9) and image.getpixel((3, 3)) == 200


def test_the_pathological_sheet_inputs_are_the_issues_notes(tmp_path):
    """The notes `python -m bench.pathological sheet` builds, read (not built) here."""
    from bench import pathological
    from tests.conftest import parse_text

    assert "$\\frac{\\frac{a}{b}}{b}$" in pathological.nested_fractions(2)
    inputs = {name: (note, size) for name, note, size in pathological.SHEET_INPUTS}
    note, diags = parse_text(tmp_path, inputs["tags on one fact"][0](500))
    assert len(note.facts[0].tags) == 500 and not diags
    note, diags = parse_text(tmp_path, inputs["nested fractions"][0](20))
    assert "x-mark" in note.facts[0].question and not diags
    for name in ("nested quotes", "nested divs"):
        note, diags = parse_text(tmp_path, inputs[name][0](inputs[name][1]))
        assert ["nested more than" in d.message for d in diags] == [True], name
