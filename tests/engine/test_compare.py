"""Drift that ignores round-off and nothing else, and a frozen store that cannot be trusted
blindly: docexec.compare, Store.load/save and the engine's check, auto and refresh modes."""

from __future__ import annotations

import json
import logging
from decimal import Decimal

import pytest

from docexec import compare, freeze
from helpers import fails

ARRAY = "[[ 0.1235  1.5000]\n [-2.2500  3.0000]]"


# ----------------------------------------------------------------------------- comparing text


@pytest.mark.parametrize(
    "executed",
    [
        ARRAY,
        "[[ 0.1234  1.5000]\n [-2.2500  3.0000]]",  # round-off moved the last printed digit
        "[[  0.1235  1.5000]\n [ -2.2500  3.0000]]",  # the same numbers aligned differently
    ],
)
def test_round_off_sized_changes_match(executed):
    assert compare.text_mismatch(ARRAY, executed) is None


@pytest.mark.parametrize(
    "executed, culprit",
    [
        ("[[ 0.1250  1.5000]\n [-2.2500  3.0000]]", "0.1235"),  # 1e-2 relative
        ("[[ 0.1235  1.5015]\n [-2.2500  3.0000]]", "1.5000"),  # 1e-3 relative
        ("[[ 0.1235  1.5000]\n [ 2.2500  3.0000]]", "-2.2500"),  # a sign
        ("[[ 0.1235  1.5000  0.0000]\n [-2.2500  3.0000  0.0000]]", "[[ 0.1235  1.5000]"),  # a shape
    ],
)
def test_real_changes_in_numbers_fail(executed, culprit):
    difference = compare.text_mismatch(ARRAY, executed)
    assert difference is not None and culprit in difference.frozen


@pytest.mark.parametrize(
    "frozen, executed",
    [
        ("shape (1, 5, 5, 1)", "shape (1, 6, 5, 1)"),  # integers match only themselves
        ("4 of 9 taps", "5 of 9 taps"),
        ("padding (1, 2)", "padding (2, 1)"),
        ("the gradient is zero", "the gradient is small"),  # words
        ("TensorFlow 2.21.0", "TensorFlow 2.21.1"),  # numbers inside names are text
        ("conv2d_3", "conv2d_4"),
        ("max |dx| 1.5e-07", "max |dx| 3.0e-07"),
    ],
)
def test_integers_words_and_names_must_match_exactly(frozen, executed):
    assert compare.text_mismatch(frozen, executed) is not None


@pytest.mark.parametrize(
    "frozen, executed",
    [
        ("accuracy 0.5", "accuracy 0.6"),  # probe 42: one unit of a one-digit number is 20 %
        ("[1. 2.]", "[2. 3.]"),
        ("1e+03", "2e+03"),
        ("0.0407", "0.0408"),  # three significant digits: 0.25 %
        ("0.0000", "0.0001"),  # zero is not round-off of a non-zero value
    ],
)
def test_a_changed_digit_of_a_short_number_is_drift(frozen, executed):
    assert compare.text_mismatch(frozen, executed) is not None


def test_the_site_prints_no_number_whose_change_the_rule_cannot_see():
    """Probe 42: in every frozen output and value of the site, a change of one unit in a
    number's last digit fails the check, unless that unit is at most 0.1 % of the number
    (round-off moving the last of four or more significant digits)."""
    from helpers import REPO

    def texts(result):
        if "backends" in result:
            return [text for run in result["backends"].values() for text in texts(run)]
        if "expression" in result:
            return [result["value"]]
        return [*result["output"], *(result["value"] or []), result["error"] or ""]

    unseen = []
    for file in sorted((REPO / "frozen").glob("*.json")):
        for result in json.loads(file.read_text())["results"]:
            for text in texts(result):
                for number in (match.group() for match in compare.NUMBER.finditer(text)):
                    if compare.is_integer(number):
                        continue
                    value, unit = Decimal(number), compare.last_digit_unit(number)
                    changed = str(value + unit if value >= 0 else value - unit)
                    if compare.numbers_match(number, changed) and unit > abs(value) * Decimal("0.001"):
                        unseen.append(f"{file.name}: {number} -> {changed}")
    assert not unseen


def test_one_unit_in_the_last_digit_of_the_coarser_number():
    assert compare.last_digit_unit("0.250") == compare.last_digit_unit("1.5e-02") == Decimal("0.001")
    assert compare.numbers_match("160.23898", "160.238988")  # matplotlib drops a trailing 0
    assert not compare.numbers_match("160.23898", "160.4")


def test_results_compare_leaf_by_leaf():
    frozen = {"output": ["a 1.0000"], "value": None, "figures": [["<svg x=\"10.5\">"]]}
    assert compare.mismatch(frozen, {**frozen, "output": ["a 1.00001"]}) is None
    assert compare.mismatch(frozen, {**frozen, "value": ["1.0"]}) is not None
    assert compare.mismatch(frozen, {**frozen, "figures": []}) is not None
    assert compare.mismatch(frozen, {**frozen, "claim": "x"}) is not None


# ----------------------------------------------------------------------------- the engine

NUMBERS = """\
# --8<-- [start:numbers]
import numpy as np
from pathlib import Path
values = np.array([float(v) for v in Path(SOURCE).read_text().split()])
print(values * 1.0)
# --8<-- [end:numbers]

# --8<-- [start:figure]
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
figure, axes = plt.subplots(figsize=(2, 2))
line, = axes.plot([0, 1, 2], values)
# --8<-- [end:figure]
"""


@pytest.fixture
def numbers(project, tmp_path_factory):
    """A page printing and plotting numbers read from a data file, which a test can nudge
    without changing the page's key or inputs (as a different kernel path would): it is
    outside the project, so the run does not list it."""
    data = tmp_path_factory.mktemp("outside") / "values.txt"
    data.write_text("0.25 1.5 -2.25")
    setup = f"# --8<-- [start:setup]\nSOURCE = {str(data)!r}\n# --8<-- [end:setup]\n"
    project.write("snippets/s.py", setup + NUMBERS)
    page = project.fence("setup", "hidden") + project.fence("numbers") + project.fence("figure", 'alt="A line."')
    project.render(page)
    return page, data


def test_check_mode_passes_round_off_in_text_and_figures_and_shows_the_frozen_page(numbers, project):
    page, data = numbers
    before = project.render(page)
    stored = (project.root / "frozen" / "p.json").read_text()
    data.write_text("0.25000001 1.5000001 -2.2500001")  # ~1e-7 relative, like Eigen vs oneDNN
    assert project.render(page, mode="check") == before
    assert (project.root / "frozen" / "p.json").read_text() == stored


@pytest.mark.parametrize("nudged, what", [("0.25 1.5015 -2.25", "1e-3 relative"), ("0.25 1.5 2.25", "a sign")])
def test_check_mode_fails_on_a_real_change_with_a_diff_and_the_tolerance(numbers, project, nudged, what):
    page, data = numbers
    data.write_text(nudged)
    with fails("frozen_differs", match="section 'numbers'") as error:
        project.render(page, mode="check")
    message = str(error.value)
    assert "snippets/s.py:" in message, what
    assert compare.TOLERANCE_TEXT in message and "--- frozen" in message


def test_a_figure_that_shows_other_numbers_fails(numbers, project):
    page, data = numbers
    # The printed array hides a 1e-5 change (4 decimals); the plot's coordinates do not.
    data.write_text("0.25 1.5 -2.1")
    with fails("frozen_differs", match="section 'numbers'"):
        project.render(page, mode="check")
    module = project.root / "snippets" / "s.py"
    module.write_text(module.read_text().replace("print(values * 1.0)", "pass"))
    project.render(page, mode="refresh")
    data.write_text("0.25 1.5 -2.25")
    with fails("frozen_differs", match="section 'figure'"):
        project.render(page, mode="check")


def test_a_refresh_on_another_kernel_path_keeps_the_frozen_numbers(numbers, project):
    page, data = numbers
    stored = (project.root / "frozen" / "p.json").read_text()
    data.write_text("0.25000001 1.5000001 -2.2500001")
    project.render(page, mode="refresh")
    assert (project.root / "frozen" / "p.json").read_text() == stored
    data.write_text("0.25 1.75 -2.25")
    project.render(page, mode="refresh")
    assert "1.7500" in (project.root / "frozen" / "p.json").read_text()


# ----------------------------------------------------------------------------- the store


def corrupt_truncated(file):
    file.write_text(file.read_text()[:200])


def corrupt_not_a_record(file):
    file.write_text("[1, 2, 3]")


def corrupt_too_few_results(file):
    record = json.loads(file.read_text())
    record["results"] = record["results"][:1]
    record["checksum"] = freeze.record_checksum(record)
    file.write_text(json.dumps(record))


def corrupt_wrong_type(file):
    record = json.loads(file.read_text())
    record["results"] = "hello"
    file.write_text(json.dumps(record))


def corrupt_edited_value(file):
    file.write_text(file.read_text().replace("1.5000", "1.6000"))


def corrupt_empty(file):
    file.write_text("")


CORRUPTIONS = [corrupt_truncated, corrupt_not_a_record, corrupt_too_few_results, corrupt_wrong_type,
               corrupt_edited_value, corrupt_empty]
NOTICED_AS = {corrupt_truncated: "frozen_not_json", corrupt_not_a_record: "frozen_shape",
              corrupt_too_few_results: "frozen_shape", corrupt_wrong_type: "frozen_shape",
              corrupt_edited_value: "hand_edited", corrupt_empty: "frozen_not_json"}


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=lambda f: f.__name__.removeprefix("corrupt_"))
def test_an_untrustworthy_frozen_file_fails_check_mode_naming_it(numbers, project, corrupt):
    page, _ = numbers
    corrupt(project.root / "frozen" / "p.json")
    with fails(NOTICED_AS[corrupt], "docs/p.md", match="frozen/p.json"):
        project.render(page, mode="check")


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=lambda f: f.__name__.removeprefix("corrupt_"))
def test_an_untrustworthy_frozen_file_is_rewritten_in_auto_mode_saying_so(numbers, project, corrupt, caplog):
    page, _ = numbers
    good = (project.root / "frozen" / "p.json").read_text()
    corrupt(project.root / "frozen" / "p.json")
    with caplog.at_level(logging.INFO, logger="mkdocs.docexec"):
        html = project.render(page)
    assert "1.5000" in html and "1.6000" not in html
    assert (project.root / "frozen" / "p.json").read_text() == good
    assert any("frozen/p.json" in line and "running" in line for line in caplog.messages)


def test_check_mode_compares_keys(numbers, project):
    page, _ = numbers
    file = project.root / "frozen" / "p.json"
    record = json.loads(file.read_text())
    record["key"] = "5"
    record["checksum"] = freeze.record_checksum(record)
    file.write_text(json.dumps(record))
    with fails("frozen_stale", "docs/p.md", match="frozen/p.json"):
        project.render(page, mode="check")


def test_an_interrupted_write_leaves_the_old_file_whole(numbers, project, monkeypatch):
    page, data = numbers
    file = project.root / "frozen" / "p.json"
    good = file.read_text()
    data.write_text("0.5 1.5 -2.25")

    def crash(self, *args, **kwargs):
        raise KeyboardInterrupt("interrupted while writing")

    monkeypatch.setattr("pathlib.Path.write_text", crash)
    with pytest.raises(KeyboardInterrupt):
        project.render(page, mode="refresh")
    monkeypatch.undo()
    assert file.read_text() == good
    assert [f.name for f in file.parent.iterdir()] == ["p.json"]  # no temporary file left


def test_a_figure_is_compared_in_both_palettes():
    """Record FORMAT 6 stores each figure's dark variant: check mode compares it as it compares
    the light one (its SVG text, up to round-off), so a change that shows only in the dark
    figure fails too."""
    from docexec.model import BlockResult

    def stored(light: str, dark: str) -> dict:
        return BlockResult([], None, None, [[light]], dark_figures=[[dark]]).to_json()

    frozen = stored('<path d="M 0.25 1.5"/>', '<path d="M 0.25 1.5" style="stroke: #e2e4e9"/>')
    assert compare.mismatch(frozen, stored('<path d="M 0.25000001 1.5"/>',
                                           '<path d="M 0.25000001 1.5" style="stroke: #e2e4e9"/>')) is None
    assert compare.mismatch(frozen, stored('<path d="M 0.25 1.5"/>', '<path d="M 0.25 1.5" style="stroke: #000000"/>'))
    assert compare.mismatch(frozen, {key: value for key, value in frozen.items() if key != "dark_figures"})
