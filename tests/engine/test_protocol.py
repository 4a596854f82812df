"""What the build and a worker say to each other (docexec/protocol.py), without a worker."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from docexec.protocol import (
    BlockAnswer,
    BlockRequest,
    Fatal,
    Raised,
    Ready,
    Truth,
    decode,
    encode,
    project_code,
    project_file,
)


@pytest.mark.parametrize("message", [
    BlockRequest("print('é')", "snippets/s.py", 3),
    Ready(False, "ModuleNotFoundError: jax"),
    BlockAnswer(output="x\n", raised=Raised("ValueError", "ValueError: v", "snippets/s.py:4", "tb"), threads=["t"]),
    BlockAnswer(truth=Truth(True, None, "bool")),
    Fatal(Raised("SystemExit", "SystemExit(0)", "snippets/s.py:2", "tb")),
])
def test_every_message_reads_back_as_written_on_one_ascii_line(message):
    line = encode(message)
    assert line.endswith(b"\n") and line.count(b"\n") == 1 and line.isascii()
    assert decode(line) == message


@pytest.mark.parametrize("line", [b"[]", b'{"kind": "Nonsense"}', b'{"kind": "Ready", "ready": true, "extra": 1}'])
def test_anything_else_is_not_a_message(line):
    with pytest.raises(ValueError):
        decode(line)


def test_the_projects_own_code(tmp_path):
    root = str(tmp_path)
    assert project_file(os.path.join(root, "snippets", "s.py"), root) == os.path.join("snippets", "s.py")
    for other in ("docexec/worker.py", ".venv/lib/keras/x.py"):
        assert project_file(os.path.join(root, other), root) is None
    assert project_file(root + "-other/s.py", root) is None  # a sibling whose name starts the same


def test_pseudo_files_are_never_the_projects_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # as in a worker: resolved, "<string>" would land under the root
    for pseudo in ("<string>", "<frozen importlib._bootstrap>"):
        assert project_code(pseudo, tmp_path) is None
    assert project_code(str(tmp_path / "snippets" / "s.py"), tmp_path) == os.path.join("snippets", "s.py")


def test_an_exception_is_described_at_the_projects_innermost_frame(tmp_path):
    file = tmp_path / "snippets" / "s.py"
    file.parent.mkdir()
    file.write_text("def fail():\n    raise ValueError('bad')\n")
    namespace = {}
    exec(compile(file.read_text(), str(file), "exec"), namespace)
    try:
        namespace["fail"]()
    except ValueError as error:
        described = Raised.from_exception(error, Path(tmp_path))
    assert (described.type, described.text, described.where) == ("ValueError", "ValueError: bad", "snippets/s.py:2")
    assert described.details.startswith("Traceback") and root_free(described.details, tmp_path)
    assert Raised.from_exception(SystemExit(3), tmp_path).text == "SystemExit(3)"
    assert Raised.from_exception(KeyboardInterrupt(), tmp_path).text == "KeyboardInterrupt"


def root_free(text: str, root: Path) -> bool:
    return str(root) + os.sep not in text
