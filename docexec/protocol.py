"""What the build says to a worker (docexec/worker.py) and to a fork server
(docexec/forkserver.py): one JSON object per line or packet, each a dataclass below, read and
written by both sides with `encode` and `decode`. Also the project-file tests both sides need.

Light to import, and it binds json's functions now: a section may replace json.dumps.
"""

from __future__ import annotations

import json
import os
import traceback
from dataclasses import dataclass, field, fields
from pathlib import Path

_dumps, _loads = json.dumps, json.loads

# Every environment a worker gets, whatever the backend: same hash order for sets of strings
# on every run, no display, TensorFlow's C++ chatter off.
CANNOT_ANSWER = 71  # a forked worker's exit status when it could not send an answer
FIXED_ENVIRONMENT = {"PYTHONHASHSEED": "0", "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "2"}


def project_file(filename: str, root: str | Path) -> str | None:
    """`filename` relative to the project `root` if it is the project's own code (not docexec's,
    not an installed library's); None otherwise."""
    root = str(root)
    if not filename.startswith(root + os.sep):
        return None
    relative = filename[len(root) + 1:]
    parts = Path(relative).parts
    return None if {"docexec", ".venv", "site-packages", "__pycache__"} & set(parts) else relative


def project_code(filename: str, root: Path) -> str | None:
    """Like project_file, for a code object's filename as Python wrote it, links resolved.
    "<string>" (exec) and "<frozen importlib._bootstrap>" are not files: resolved, they landed
    under the working directory, the project root, and took the blame (issue 18)."""
    if not Path(filename).is_absolute():
        return None
    return project_file(str(Path(filename).resolve()), root.resolve())


# ------------------------------------------------------------------ requests (build -> worker)


@dataclass
class PageRequest:  # start a page: a fresh namespace, the project at `root`, its package importable.
    root: str
    package: str  # the project's package, "snippets"
    uses_keras: bool  # seed Keras's random state too
    limit: int  # characters of output a block may print before the worker stops storing them
    timeout: float = 0  # seconds the page may run: just before, the worker writes its stack to its log


@dataclass
class BlockRequest:  # run one section's code in the page's namespace.
    code: str
    path: str  # the snippet file, relative to the root
    first_line: int  # where the code starts in that file


@dataclass
class ValueRequest:  # evaluate one `{py}` expression in the page's namespace.
    expression: str


# ------------------------------------------------------------------ answers (worker -> build)


@dataclass
class Raised:  # an exception raised by the page's code, as the build reports it.
    type: str  # the exception class's name
    text: str  # "Type: message" (SystemExit(code) for an exit)
    where: str  # file:line of the innermost project frame, or "(outside the snippets)"
    details: str  # the traceback, without docexec's frames and with paths relative to the root

    @classmethod
    def from_exception(cls, error: BaseException, root: Path, normalise=None) -> Raised:
        """The one description of an exception; `normalise` (default: drop the root from
        paths) is applied to its text, as to the output it may be shown with."""
        normalise = normalise or (lambda text: text.replace(str(root) + os.sep, ""))
        frames = traceback.extract_tb(error.__traceback__)
        ours = [frame for frame in frames if project_code(frame.filename, root)]
        if isinstance(error, SyntaxError) and error.filename:
            where = f"{_relative(error.filename, root)}:{error.lineno}"
        elif ours:
            where = f"{_relative(ours[-1].filename, root)}:{ours[-1].lineno}"
        else:
            where = "(outside the snippets)"
        shown = [frame for frame in frames if "docexec" not in Path(frame.filename).parts] or frames
        lines = traceback.format_list(shown) + traceback.format_exception_only(type(error), error)
        details = "Traceback (most recent call last):\n" + "".join(lines)
        name = type(error).__name__
        if isinstance(error, SystemExit):
            text = f"SystemExit({error.code!r})"
        elif isinstance(error, Exception) or str(error):
            text = f"{name}: {error}"
        else:  # KeyboardInterrupt, GeneratorExit...
            text = name
        return cls(name, normalise(text), where, details.replace(str(root) + os.sep, "").rstrip())


@dataclass
class Ready:  # the worker (or fork server) has imported its libraries, or could not.
    ready: bool
    error: str | None = None


@dataclass
class PageStarted:
    kernels: str | None = None  # TensorFlow's CPU kernel path, once imported: "oneDNN" or "Eigen"


@dataclass
class Truth:  # a block's final value, judged for a claim's check.
    truth: bool | None = None  # the final value, when it is a bool, Python's or NumPy's (a claim's check)
    checked: dict | None = None  # the final value, when over() returned it (its Checked.to_json())
    value_type: str = "NoneType"  # the final value's type name (a claim's check that is not a bool)


@dataclass
class BlockAnswer:  # what running one block did; the build decides what it means (execution.decide).
    output: str = ""  # stdout and stderr, interleaved, normalised
    value: str | None = None  # the final expression's text, when it is not None
    figures: list[str] = field(default_factory=list)  # SVG documents
    dark_figures: list[str] = field(default_factory=list)  # the same, drawn for the dark palette
    raised: Raised | None = None
    threads: list[str] = field(default_factory=list)  # threads the block left running
    modules: dict[str, str] = field(default_factory=dict)  # project file read so far -> sha256 of what was read
    truncated: bool = False  # more output than the page's limit: the rest was not stored
    size: int = 0  # characters printed, stored or not
    address_at: str | None = None  # file:line that first printed a memory address
    truth: Truth | None = None  # the final value, judged (when the block completed)


@dataclass
class ValueAnswer:  # what evaluating one `{py}` value gave.
    value: str | None = None
    raised: Raised | None = None
    modules: dict[str, str] = field(default_factory=dict)
    threads: list[str] = field(default_factory=list)  # threads the expression left running


@dataclass
class Fatal:  # the page's code exited or interrupted the worker, which stops after this answer.
    raised: Raised


@dataclass
class Refused:  # a request the worker cannot answer (out of order, unknown).
    reason: str


# ------------------------------------------------------------------ build <-> fork server


@dataclass(frozen=True)
class Limits:
    """What a page's worker may use (<!-- docexec memory=MB processes=N file-size=MB -->): its fork
    server sets the memory and file limits in the worker and watches the page's process count."""

    memory: int = 0  # MB of RLIMIT_DATA (0: none)
    processes: int = 1 << 30  # processes the page may have at once, its worker included
    file_size: int = 0  # MB one file the page writes may reach (RLIMIT_FSIZE), its worker's log included


@dataclass
class ForkRequest:  # fork a fresh worker for a page (three descriptors travel with it: requests, results, log).
    root: str
    tmp: str = ""  # the page's TMPDIR
    limits: Limits = field(default_factory=Limits)


@dataclass
class Forked:
    pid: int


@dataclass
class Exited:  # a worker the fork server forked has ended (status negative: killed by that signal).
    pid: int
    status: int


@dataclass
class OverLimit:  # a page had more processes than its limit; the fork server kills it after this.
    pid: int
    processes: int


MESSAGES = {cls.__name__: cls for cls in (PageRequest, BlockRequest, ValueRequest, Ready, PageStarted, BlockAnswer,
                                          ValueAnswer, Fatal, Refused, ForkRequest, Forked, Exited, OverLimit)}
NESTED = {"raised": Raised, "truth": Truth, "limits": Limits}


def encode(message) -> bytes:
    """One message as one ASCII JSON line."""
    data = {"kind": type(message).__name__}
    for name, value in vars(message).items():
        data[name] = vars(value) if name in NESTED and value is not None else value
    return (_dumps(data, ensure_ascii=True) + "\n").encode("ascii")


def decode(line: bytes | str):
    """The message a line holds; ValueError if it holds none."""
    data = _loads(line)
    if not isinstance(data, dict) or data.get("kind") not in MESSAGES:
        raise ValueError("not a message")
    cls = MESSAGES[data.pop("kind")]
    known = {item.name for item in fields(cls)}
    if not known >= data.keys():
        raise ValueError(f"unknown fields {sorted(data.keys() - known)}")
    for name, nested in NESTED.items():
        if isinstance(data.get(name), dict):
            data[name] = nested(**data[name])
    return cls(**data)


def _relative(filename: str, root: Path) -> str:
    try:
        return str(Path(filename).resolve().relative_to(root.resolve()))
    except ValueError:
        return filename
