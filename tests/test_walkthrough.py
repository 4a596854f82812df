"""docs/walkthrough.ipynb: re-execute it and compare every output with the one stored in the file.

The site renders the stored outputs (a local build does not start a kernel); CI=true builds execute it
again. This test is what keeps the stored outputs honest. After an intended change, refresh them with

    .venv/bin/python tests/test_walkthrough.py --refresh

which executes the notebook and writes its outputs back, normalised the same way this test compares them.
"""

from __future__ import annotations

import copy
import difflib
import json
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "walkthrough.ipynb"
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


def refresh() -> None:
    notebook = execute(nbformat.read(NOTEBOOK, as_version=4))
    strip_volatile(notebook)
    nbformat.write(notebook, NOTEBOOK)
    print(f"refreshed the stored outputs of {NOTEBOOK}")


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
