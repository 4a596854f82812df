"""The data that moves between docexec's stages, one type per concept:

    parse (page.py) -> Page of Block / InlineValue -> run (execution.py) -> Record of results
    -> store (freeze.py, as JSON: Record.to_json / from_json) -> render (render.py)
"""

from __future__ import annotations

import functools
import shlex
from dataclasses import dataclass, field, fields
from typing import Any

from .errors import DocexecError
from .sections import Section

# Bump when the shape of stored records or their rendering changes (3: records list the modules a run loaded;
# 4: a claim's result carries its scope, docexec.checks; 5: the checksum covers the whole record;
# 6: `modules` lists every project file the run read, hashed as read, and `versions` the default worker's
# TensorFlow kernels; 7: a block that draws stores each figure's dark variant too, `dark_figures`).
FORMAT = 7


def _flag(doc: str) -> Any:
    return field(default=False, metadata={"flag": True, "doc": doc})


def _value(doc: str) -> Any:
    return field(default=None, metadata={"flag": False, "doc": doc})


@functools.lru_cache(maxsize=4096)
def _words(text: str) -> tuple[str, ...]:
    """shlex's split, once per distinct options text: a page is parsed again for the claims
    index and under `serve --dirty`, and shlex is slow."""
    return tuple(shlex.split(text))


@dataclass(frozen=True)
class BlockOptions:
    """The options of a `python exec` fence: `python exec hidden claim="..."`. A flag is
    written bare (`hidden`), any other option as `key="value"`; adding an option is adding a
    field here (and rendering it)."""

    hidden: bool = _flag("run, but show neither code nor output (set-up sections)")
    alt: str | None = _value("the text alternative of the figures the block draws")
    raises: str | None = _value("the exception type the block is expected to raise, e.g. ValueError")
    claim: str | None = _value("the sentence the block's final expression checks (it must be True)")
    backends: tuple[str, ...] | None = _value('the backends the block runs on, "tf-eigen jax"; None: the build\'s own')

    def __post_init__(self):
        if self.claim is not None and (self.hidden or self.raises is not None):
            raise DocexecError("a claim block cannot also be hidden or raise", "claim_options")

    @classmethod
    def parse(cls, text: str, known_backends) -> BlockOptions:
        """The options written after `python exec`; `known_backends` are the names backends= may use."""
        known = {option.name: option.metadata["flag"] for option in fields(cls)}
        values: dict[str, Any] = {}
        for word in _words(text):
            key, has_value, value = word.partition("=")
            if key not in known:
                raise DocexecError(f"unknown option {key!r}; allowed: {', '.join(sorted(known))}", "unknown_option")
            if known[key] == bool(has_value):
                raise DocexecError(f"option {key!r} is written " + (key if known[key] else f'{key}="..."'), "written")
            values[key] = True if known[key] else value
        if "backends" in values:
            values["backends"] = _backend_names(values["backends"], known_backends)
        return cls(**values)

    def to_json(self) -> dict:
        """The options as written (unset ones left out): part of the page's freeze key."""
        written = {}
        for option in fields(self):
            value = getattr(self, option.name)
            if option.metadata["flag"] and value:
                written[option.name] = True
            elif not option.metadata["flag"] and value is not None:
                written[option.name] = " ".join(value) if isinstance(value, tuple) else value
        return written


def _backend_names(text: str, known) -> tuple[str, ...]:
    names, allowed = text.split(), ", ".join(known)
    if not names:
        raise DocexecError(f'backends="" names no backend; name one or more of: {allowed}', "no_backend")
    for name in names:
        if name not in known:
            raise DocexecError(f'unknown backend {name!r} in backends="{text}"; allowed: {allowed}', "unknown_backend")
    if len(set(names)) != len(names):
        raise DocexecError(f'a backend is named twice in backends="{text}"', "backend_twice")
    return tuple(names)


@dataclass
class Block:
    """A `python exec` fence: page lines [start, end) become the section's code and output."""

    start: int  # index of the opening fence in the page's lines
    end: int  # index of the first line after the closing fence
    indent: str  # the fence's indentation, given back to what replaces it
    section: Section  # the snippet section it shows
    options: BlockOptions

    @property
    def line(self) -> int:
        """1-based page line of the opening fence, as an editor shows it."""
        return self.start + 1

    @property
    def source(self) -> str:
        """"path:name", as stored in frozen records and freeze keys."""
        return f"{self.section.path}:{self.section.name}"

    @property
    def code(self) -> str:
        return self.section.code

    @property
    def last_line(self) -> str:
        """"path:line" of the section's last line (where a claim's check or a final value is)."""
        return f"{self.section.path}:{self.section.first_line + len(self.code.splitlines()) - 1}"

    @property
    def where(self) -> dict:
        return {"line": self.line, "file": self.section.path, "file_line": self.section.first_line,
                "section": self.section.name}


@dataclass
class InlineValue:
    """A `{py} expression` in prose: characters [start, end) of page line `line`."""

    expression: str
    line: int  # 1-based
    start: int
    end: int

    @property
    def where(self) -> dict:
        return {"line": self.line, "column": self.start + 1}


Item = Block | InlineValue


@dataclass
class Page:
    """A page's executable items in reading order, and the lines they came from."""

    lines: list[str]
    items: list[Item] = field(default_factory=list)
    directives: set[int] = field(default_factory=set)  # indexes of directive lines (not shown)
    timeout: float | None = None  # seconds the page may run (<!-- docexec timeout=SECONDS -->)
    output_limit: float | None = None  # kB one block may produce (<!-- docexec output-limit=KB -->)
    memory: float | None = None  # MB of memory a worker may use (<!-- docexec memory=MB -->)
    processes: int | None = None  # processes a page may have at once (<!-- docexec processes=N -->)
    file_size: float | None = None  # MB a file the page writes may reach (<!-- docexec file-size=MB -->)
    claims_index: bool = False  # <!-- docexec claims-index -->: list every other page's claims here

    @property
    def blocks(self) -> list[Block]:
        return [item for item in self.items if isinstance(item, Block)]


@dataclass(frozen=True)
class BlockResult:
    """What one block showed on one worker, cleaned, as the page and frozen/ show it."""

    output: list[str]  # lines printed to stdout and stderr, interleaved as printed
    value: list[str] | None  # lines of the final expression's value; None when there is none
    error: str | None  # "Type: message" of the exception the page expected (raises=...)
    figures: list[list[str]]  # each figure drawn, as the lines of an SVG document
    scope: dict | None = None  # a claim's: what its check ran on (docexec.checks.Checked); None: one example
    is_claim: bool = False  # a claim's result, which stores `scope` even when None
    # each figure redrawn for the dark palette (namespace.dark_variant), one per figure
    dark_figures: list[list[str]] = field(default_factory=list)

    def to_json(self) -> dict:
        data = {"output": self.output, "value": self.value, "error": self.error, "figures": self.figures}
        if self.figures:
            data["dark_figures"] = self.dark_figures
        if self.is_claim:
            data["scope"] = self.scope
        return data

    @classmethod
    def from_json(cls, data: dict) -> BlockResult:
        return cls(data["output"], data["value"], data["error"], data["figures"], data.get("scope"), "scope" in data,
                   data.get("dark_figures") or [])


@dataclass(frozen=True)
class BlockRecord:
    """The stored result of one block: of the build's own worker, or one per backend."""

    source: str  # "path:section", checked against the block when the page is rendered
    result: BlockResult | None = None  # what the build's own worker showed (no backends=)
    backends: dict[str, BlockResult] | None = None  # backend name -> what it showed (backends=...)
    claim: str | None = None  # the sentence checked, for a claim block

    def to_json(self) -> dict:
        data: dict = {"source": self.source}
        if self.backends is not None:
            data["backends"] = {name: result.to_json() for name, result in self.backends.items()}
        else:
            data.update(self.result.to_json())
        if self.claim is not None:
            data["claim"] = self.claim
        return data

    @classmethod
    def from_json(cls, data: dict) -> BlockRecord:
        if "backends" in data:
            backends = {name: BlockResult.from_json(result) for name, result in data["backends"].items()}
            return cls(data["source"], backends=backends, claim=data.get("claim"))
        return cls(data["source"], BlockResult.from_json(data), claim=data.get("claim"))


@dataclass(frozen=True)
class ValueRecord:
    """The stored result of one `{py}` value."""

    expression: str  # as written, checked against the page's value when rendered
    value: str  # the text shown in the prose

    def to_json(self) -> dict:
        return {"expression": self.expression, "value": self.value}


ItemRecord = BlockRecord | ValueRecord


@dataclass(frozen=True)
class Record:
    """Everything a page's outputs are: what frozen/PAGE.json holds (with a checksum added by
    the store), and what the page is rendered from."""

    page: str  # the page's path inside docs_dir
    key: str  # a hash of the page's code and the library versions (freeze.page_key)
    versions: dict[str, str]  # library label -> version the build's own worker ran
    results: list[ItemRecord]  # one per executable item, in page order
    # project file the run loaded -> its sha256: the page's modules (freeze.modules_current)
    modules: dict[str, str] = field(default_factory=dict)
    backends: dict[str, dict[str, str]] | None = None  # backend name -> its library versions, if any ran

    def to_json(self) -> dict:
        data: dict = {"page": self.page, "key": self.key, "versions": self.versions}
        if self.backends:
            data["backends"] = self.backends
        data["modules"] = self.modules
        data["results"] = self.results_json()
        return data

    def results_json(self) -> list[dict]:
        return [result.to_json() for result in self.results]

    @classmethod
    def from_json(cls, data: dict, items: int) -> Record:
        """A record read from JSON; ValueError saying what is wrong if it is not one of a
        page with `items` executable items."""
        problem = _shape_problem(data, items)
        if problem:
            raise ValueError(problem)
        try:
            results = [ValueRecord(result["expression"], result["value"]) if "expression" in result
                       else BlockRecord.from_json(result) for result in data["results"]]
        except (KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"has a result of the wrong shape (no {error})") from None
        return cls(data["page"], data["key"], data["versions"], results, data.get("modules") or {},
                   data.get("backends") or None)


def _shape_problem(data, items: int) -> str | None:
    if not isinstance(data, dict):
        return f"holds a {type(data).__name__}, not a record"
    missing = {"page", "key", "versions", "results", "checksum"} - data.keys()
    if missing:
        return f"lacks the field(s) {', '.join(sorted(missing))}"
    if not isinstance(data["key"], str) or not isinstance(data["versions"], dict):
        return "has a key or versions of the wrong type"
    results = data["results"]
    if not isinstance(results, list) or not all(isinstance(result, dict) for result in results):
        return "has results that are not a list of records"
    if len(results) != items:
        return f"holds {len(results)} results for a page with {items} executable items"
    return None
