"""docs/walkthrough.ipynb: its code comes from snippets/walkthrough.py, its outputs from running it.

The notebook's code cells are, in order, exactly the sections of snippets/walkthrough.py (one section per
code cell); a test fails, naming the first differing cell and section, when they drift apart. The site
renders the stored outputs (no build starts a kernel); a test here executes it, once, and compares every
output with the stored one up to round-off (docexec.compare). After editing the module, run
`python tools/walkthrough_notebook.py --refresh` (part of `make outputs`).
"""

from __future__ import annotations

import nbformat
import pytest

from docexec import compare
from docexec.sections import Section
from docexec.sections import stray_lines as lines_outside_sections
from walkthrough_notebook import (
    MODULE,
    MODULE_NAME,
    NOTEBOOK,
    code_cell_indices,
    drift,
    execute,
    module_sections,
    outputs_of,
    write_sections,
)


def test_code_cells_are_the_module_sections_in_order():
    text = MODULE.read_text(encoding="utf-8")
    assert not lines_outside_sections(text), (
        f"{MODULE_NAME}: lines {lines_outside_sections(text)} are in no section; the notebook would not show them"
    )
    problem = drift(nbformat.read(NOTEBOOK, as_version=4), module_sections(text))
    assert problem is None, (
        f"{NOTEBOOK.name} and {MODULE_NAME} have drifted apart: {problem}\n"
        "edit the module, not the notebook, then run `make outputs` "
        "(or `python tools/walkthrough_notebook.py --refresh`) "
        "(for an added or removed section, first add or remove its code cell where it belongs in the notebook)"
    )


def _copies(tmp_path):
    """The module's text and a notebook made from it (a markdown cell before each code cell), saved in
    tmp_path and read back, to break one of them on purpose whatever state docs/walkthrough.ipynb is in."""
    text = MODULE.read_text(encoding="utf-8")
    cells = []
    for section in module_sections(text):
        cells += [nbformat.v4.new_markdown_cell(f"## {section.name}"), nbformat.v4.new_code_cell(section.code)]
    path = tmp_path / "walkthrough.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return nbformat.read(path, as_version=4), text


def test_drift_names_the_first_differing_cell_and_section(tmp_path):
    notebook, text = _copies(tmp_path)
    assert drift(notebook, module_sections(text)) is None
    edited = text.replace("dk_loop = np.zeros((3, 3))\n", "dk_loop = np.zeros((3, 3))  # edited\n")
    assert edited != text
    problem = drift(notebook, module_sections(edited))
    assert problem.startswith("code cell 5 (notebook cell 9) differs from section 'kernel_gradient'"), problem
    assert "+dk_loop = np.zeros((3, 3))\n" in problem
    # The notebook side drifting is caught the same way.
    notebook.cells[3].source += "\nprint('typed into the notebook')"
    assert drift(notebook, module_sections(text)).startswith(
        "code cell 2 (notebook cell 3) differs from section 'same_rule'")


def test_drift_names_a_missing_or_extra_cell(tmp_path):
    notebook, text = _copies(tmp_path)
    sections = module_sections(text)
    extra = sections + [Section(MODULE_NAME, "extra", 999, "print(1)")]
    assert drift(notebook, extra).startswith(f"section 'extra' ({MODULE_NAME}:999) has no code cell")
    last = code_cell_indices(notebook)[-1]
    assert drift(notebook, sections[:-1]).startswith(f"code cell {len(sections)} (notebook cell {last}) has no section")
    with pytest.raises(SystemExit, match="code cells but"):
        write_sections(notebook, extra)


def test_write_sections_fills_code_cells_and_leaves_markdown(tmp_path):
    notebook, text = _copies(tmp_path)
    markdown = [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]
    sections = module_sections(text.replace("rng = np.random.default_rng(0)", "rng = np.random.default_rng(1)"))
    assert drift(notebook, sections).startswith("code cell 1 (notebook cell 1) differs from section 'imports'")
    write_sections(notebook, sections)
    assert drift(notebook, sections) is None
    assert [cell.source for cell in notebook.cells if cell.cell_type == "markdown"] == markdown


def test_code_outside_a_section_is_found():
    assert lines_outside_sections("# --8<-- [start:a]\nx = 1\n# --8<-- [end:a]\n\ny = 2\n") == [5]


def test_stored_outputs_match_a_fresh_execution():
    """The one execution of the notebook (the site build shows its stored outputs): every
    output must match the stored one up to round-off, as docexec compares pages."""
    stored = nbformat.read(NOTEBOOK, as_version=4)
    fresh = outputs_of(execute(stored))
    frozen = outputs_of(stored)
    difference = compare.mismatch(frozen, fresh)
    if difference:
        diff = compare.unified_diff(frozen, fresh)
        raise AssertionError(
            f"the notebook's stored outputs differ from a fresh run: {difference} "
            f"(compared as: {compare.TOLERANCE_TEXT}); if intended, run `make outputs` "
            f"(or `python tools/walkthrough_notebook.py --refresh`):\n{diff}"
        )


def test_every_code_cell_has_stored_output_and_the_notebook_is_self_contained():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    empty = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code" and not cell.outputs]
    # The first cell only imports and defines helpers; every other code cell shows the reader a result.
    assert empty == [notebook.cells.index(code_cells[0])], f"code cells without stored outputs: {empty}"
    # A reader who downloads it, or opens it in Colab, does not have this repository.
    assert not any("snippets" in line for cell in code_cells for line in cell.source.splitlines()
                   if line.lstrip().startswith(("import", "from")))
    assert any(o.get("output_type") == "display_data" and "image/png" in o.get("data", {})
               for cell in code_cells for o in cell.outputs), "the notebook draws no figure"
    markdown = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert "colab.research.google.com/github/" in markdown and "](../" not in markdown

    def code_lines(cell):
        return [line for line in cell.source.splitlines() if line.strip() and not line.lstrip().startswith("#")]

    longest = max(len(code_lines(cell)) for cell in code_cells)
    assert longest <= 25, f"a code cell has {longest} lines of code; split it"


def test_a_raising_cell_fails_execution(tmp_path):
    """allow_errors is off: a cell that raises must stop the run (and so a CI build)."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("raise ValueError('boom')")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    try:
        execute(notebook)
    except Exception as error:  # nbclient raises CellExecutionError
        assert "ValueError" in str(error) and "boom" in str(error)
    else:
        raise AssertionError("a raising cell did not fail the execution")


def test_prints_split_over_two_stream_messages_compare_as_one():
    """The kernel sends consecutive prints in one stream message or several, depending on when it
    flushes: the comparison sees what a reader sees (seen failing as '1 entries' vs '2 entries')."""
    one = nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output("stream", name="stdout", text="a\nb\n")])
    two = nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output("stream", name="stdout", text="a\n"),
                                             nbformat.v4.new_output("stream", name="stdout", text="b\n")])
    other = nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output("stream", name="stdout", text="a\n"),
                                               nbformat.v4.new_output("stream", name="stderr", text="b\n")])
    as_outputs = [outputs_of(nbformat.v4.new_notebook(cells=[cell])) for cell in (one, two, other)]
    assert as_outputs[0] == as_outputs[1] != as_outputs[2]
