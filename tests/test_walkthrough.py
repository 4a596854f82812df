"""docs/walkthrough.ipynb: its code comes from snippets/walkthrough.py, its outputs from running it.

The notebook's code cells are, in order, exactly the sections of snippets/walkthrough.py (one section per
code cell); a test fails, naming the first differing cell and section, when they drift apart. The site
renders the stored outputs (a local build does not start a kernel); CI=true builds execute it again, and a
test here re-executes it and compares every output with the stored one. After editing the module, run

    .venv/bin/python tests/test_walkthrough.py --refresh

which writes the module's sections into the code cells (matched by order; markdown cells are untouched),
then executes the notebook and writes its outputs back, normalised the same way the test compares them.
To add or remove a step, add or remove a code cell in the notebook where it belongs (in Jupyter) and the
section in the module, then refresh: the refresh refuses to guess where a cell goes.
"""

from __future__ import annotations

import copy
import difflib
import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from docexec.sections import MARKER, Section, parse_sections

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "walkthrough.ipynb"
MODULE = ROOT / "snippets" / "walkthrough.py"
MODULE_NAME = "snippets/walkthrough.py"
TIMEOUT = 300  # seconds per cell; the first one imports TensorFlow


def execute(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A fresh, executed copy; any cell that raises fails (allow_errors is off)."""
    executed = copy.deepcopy(notebook)
    client = NotebookClient(
        executed,
        timeout=TIMEOUT,
        kernel_name="python3",
        allow_errors=False,
        record_timing=False,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()
    return executed


def normalised_output(output: dict) -> dict:
    """What a reader sees of one output, without execution counts, timings or binary payloads."""
    kind = output["output_type"]
    if kind == "stream":
        return {"stream": output["name"], "text": output["text"]}
    if kind == "error":
        return {"error": output["ename"], "value": output["evalue"]}
    data = output.get("data", {})
    shown = {"text/plain": data["text/plain"]} if "text/plain" in data else {}
    return {kind: shown, "types": sorted(data)}


def outputs_of(notebook: nbformat.NotebookNode) -> list[dict]:
    return [
        {"cell": index, "outputs": [normalised_output(o) for o in cell.get("outputs", [])]}
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
    ]


def strip_volatile(notebook: nbformat.NotebookNode) -> None:
    """Drop what changes on every run without changing what a reader sees."""
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", []):
            output.get("metadata", {}).pop("execution", None)


def module_sections(text: str, path: str = MODULE_NAME) -> list[Section]:
    """The module's sections in file order; raises SectionError on malformed markers."""
    return list(parse_sections(text, path).values())


def lines_outside_sections(text: str) -> list[int]:
    """1-based numbers of the non-blank lines that are in no section (code the notebook would not show)."""
    outside, inside = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        marker = MARKER.match(line)
        if marker:
            inside = marker.group(1) == "start"
        elif not inside and line.strip():
            outside.append(number)
    return outside


def code_cell_indices(notebook: nbformat.NotebookNode) -> list[int]:
    return [index for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"]


def drift(notebook: nbformat.NotebookNode, sections: list[Section]) -> str | None:
    """None when the code cells are exactly the sections, in order; else where they first differ."""
    cells = code_cell_indices(notebook)
    for number, (index, section) in enumerate(zip(cells, sections), start=1):
        source = notebook.cells[index].source
        if source != section.code:
            diff = difflib.unified_diff(
                section.code.splitlines(),
                source.splitlines(),
                f"{section.path}:{section.first_line} section '{section.name}'",
                f"walkthrough.ipynb code cell {number} (cell {index})",
                lineterm="",
            )
            return (
                f"code cell {number} (notebook cell {index}) differs from section '{section.name}' "
                f"({section.path}:{section.first_line}):\n" + "\n".join(diff)
            )
    if len(sections) > len(cells):
        section = sections[len(cells)]
        return (
            f"section '{section.name}' ({section.path}:{section.first_line}) has no code cell: the notebook "
            f"has {len(cells)} code cells for {len(sections)} sections"
        )
    if len(cells) > len(sections):
        index = cells[len(sections)]
        return (
            f"code cell {len(sections) + 1} (notebook cell {index}) has no section: the notebook has "
            f"{len(cells)} code cells for {len(sections)} sections"
        )
    return None


def write_sections(notebook: nbformat.NotebookNode, sections: list[Section]) -> None:
    """Put each section into the code cell of the same rank; markdown cells are left as they are."""
    cells = code_cell_indices(notebook)
    if len(cells) != len(sections):
        names = ", ".join(s.name for s in sections)
        raise SystemExit(
            f"{NOTEBOOK.name} has {len(cells)} code cells but {MODULE_NAME} has {len(sections)} sections "
            f"({names}); add or remove the code cell where it belongs in the notebook, then refresh again"
        )
    for index, section in zip(cells, sections):
        notebook.cells[index].source = section.code


def refresh() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    write_sections(notebook, module_sections(MODULE.read_text(encoding="utf-8")))
    nbformat.write(notebook, NOTEBOOK)  # the code first: in sync even if execution fails below
    print(f"wrote the sections of {MODULE_NAME} into the code cells of {NOTEBOOK}")
    notebook = execute(notebook)
    strip_volatile(notebook)
    nbformat.write(notebook, NOTEBOOK)
    print(f"refreshed the stored outputs of {NOTEBOOK}")


def test_code_cells_are_the_module_sections_in_order():
    text = MODULE.read_text(encoding="utf-8")
    assert not lines_outside_sections(text), (
        f"{MODULE_NAME}: lines {lines_outside_sections(text)} are in no section; the notebook would not show them"
    )
    problem = drift(nbformat.read(NOTEBOOK, as_version=4), module_sections(text))
    assert problem is None, (
        f"{NOTEBOOK.name} and {MODULE_NAME} have drifted apart: {problem}\n"
        "edit the module, not the notebook, then run `.venv/bin/python tests/test_walkthrough.py --refresh` "
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
    edited = text.replace('padding="same")\nprint("same == valid', 'padding="same")  # edited\nprint("same == valid')
    assert edited != text
    problem = drift(notebook, module_sections(edited))
    assert problem.startswith("code cell 4 (notebook cell 7) differs from section 'kernel_gradient'"), problem
    assert '+dk_loop = conv2d_grad_kernel_loop(x, dy, kernel.shape, padding="same")\n' in problem
    # The notebook side drifting is caught the same way.
    notebook.cells[3].source += "\nprint('typed into the notebook')"
    assert drift(notebook, module_sections(text)).startswith("code cell 2 (notebook cell 3) differs from section 'same_rule'")


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
    stored = nbformat.read(NOTEBOOK, as_version=4)
    fresh = outputs_of(execute(stored))
    frozen = outputs_of(stored)
    if fresh != frozen:
        diff = difflib.unified_diff(
            json.dumps(frozen, indent=1).splitlines(),
            json.dumps(fresh, indent=1).splitlines(),
            "stored in walkthrough.ipynb",
            "executed now",
            lineterm="",
        )
        raise AssertionError(
            "the notebook's stored outputs differ from a fresh run; if intended, run "
            "`.venv/bin/python tests/test_walkthrough.py --refresh`:\n" + "\n".join(diff)
        )


def test_every_code_cell_has_stored_output_and_imports_come_from_snippets():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    empty = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code" and not cell.outputs]
    # The first cell only imports; every other code cell must show the reader a result.
    assert empty == [notebook.cells.index(code_cells[0])], f"code cells without stored outputs: {empty}"
    assert any("from snippets" in cell.source for cell in code_cells)
    def code_lines(cell):
        return [line for line in cell.source.splitlines() if line.strip() and not line.lstrip().startswith("#")]

    longest = max(len(code_lines(cell)) for cell in code_cells)
    assert longest <= 12, f"a code cell has {longest} lines of code; call the snippets modules instead"


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


if __name__ == "__main__":
    if sys.argv[1:] != ["--refresh"]:
        sys.exit(f"usage: {sys.argv[0]} --refresh   (got {' '.join(sys.argv[1:]) or 'no arguments'})")
    refresh()
