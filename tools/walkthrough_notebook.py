"""The walk-through notebook (docs/walkthrough.ipynb): its code cells are the sections of
snippets/walkthrough.py, in order, and its stored outputs come from running it.

    python tools/walkthrough_notebook.py --refresh

writes the module's sections into the code cells (matched by order; markdown cells are
untouched), then executes the notebook and stores its outputs, normalised the way
tests/test_walkthrough.py compares them. To add or remove a step, add or remove the code
cell where it belongs (in Jupyter) and the section in the module, then refresh: the
refresh refuses to guess where a cell goes.
"""

from __future__ import annotations

import copy
import difflib
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from docexec.sections import Section, parse_sections

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
        {"cell": index, "outputs": [normalised_output(o) for o in joined_streams(cell.get("outputs", []))]}
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
    ]


def joined_streams(outputs: list) -> list:
    """Consecutive prints to one stream as one output, as a notebook shows them: the kernel
    sends them in one message or several depending on when it flushes (a flaky split)."""
    joined = []
    for output in outputs:
        previous = joined[-1] if joined else None
        if (output.get("output_type") == "stream" and previous is not None
                and previous.get("output_type") == "stream" and previous.get("name") == output.get("name")):
            joined[-1] = {**previous, "text": previous["text"] + output["text"]}
        else:
            joined.append(output)
    return joined


def strip_volatile(notebook: nbformat.NotebookNode) -> None:
    """Drop what changes on every run without changing what a reader sees."""
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", []):
            output.get("metadata", {}).pop("execution", None)


def module_sections(text: str, path: str = MODULE_NAME) -> list[Section]:
    """The module's sections in file order; raises SectionError on malformed markers."""
    return list(parse_sections(text, path).values())


def code_cell_indices(notebook: nbformat.NotebookNode) -> list[int]:
    return [index for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"]


def drift(notebook: nbformat.NotebookNode, sections: list[Section]) -> str | None:
    """None when the code cells are exactly the sections, in order; else where they first differ."""
    cells = code_cell_indices(notebook)
    # Compared up to the shorter of the two; a count that differs is reported after the loop.
    for number, (index, section) in enumerate(zip(cells, sections, strict=False), start=1):
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
    for index, section in zip(cells, sections, strict=True):
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


def main(arguments: list[str]) -> None:
    if arguments != ["--refresh"]:
        given = " ".join(arguments) or "no arguments"
        sys.exit(f"usage: python tools/walkthrough_notebook.py --refresh   (got {given})")
    refresh()


if __name__ == "__main__":
    main(sys.argv[1:])
