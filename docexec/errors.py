"""The engine's errors and message templates. Every message reads `docexec: PAGE:LINE
(SNIPPET:LINE, section 'NAME'): what went wrong`, with the parts that are known; the
extension adds the page (`DocexecError.at`) to errors raised before it was known."""

from __future__ import annotations

from dataclasses import dataclass, fields

try:  # a BuildError makes MkDocs print the message alone and exit 1, strict or not
    from mkdocs.exceptions import BuildError as _ErrorBase
except ImportError:  # pragma: no cover - other renderers get a plain exception
    _ErrorBase = Exception

PREFIX = "docexec: "


@dataclass(frozen=True)
class Location:
    page: str | None = None  # as a reader finds it: "docs/demo.md"
    line: int | None = None  # 1-based line in the page
    column: int | None = None  # 1-based, for an inline `{py}` value
    file: str | None = None  # snippet file, relative to the project root
    file_line: int | None = None
    section: str | None = None

    def __str__(self) -> str:
        head = self.page or ("page" if self.line else "")
        if self.line:
            head += f":{self.line}" if self.page else f" line {self.line}"
            if self.column:
                head += f":{self.column}"
        inner = []
        if self.file:
            inner.append(f"{self.file}:{self.file_line}" if self.file_line else self.file)
        if self.section:
            inner.append(f"section '{self.section}'")
        if inner:
            head = f"{head} ({', '.join(inner)})" if head else ", ".join(inner)
        return head


def describe(message: str, location: Location) -> str:
    """The text of every engine error: prefix, location (when known), message."""
    message = message.removeprefix(PREFIX)
    where = str(location)
    return f"{PREFIX}{where}: {message}" if where else f"{PREFIX}{message}"


class DocexecError(_ErrorBase):
    """A page cannot be built: bad reference, failing code, false claim or changed output."""

    def __init__(self, message: str, kind: str = "", **where):  # kind: a TEMPLATES key, or one raised directly
        self.reason, self.kind = message.removeprefix(PREFIX), kind  # `message` is taken: click's, then the full text
        self.location = Location(**where)
        super().__init__(describe(self.reason, self.location))

    def at(self, **where) -> DocexecError:
        """The same error with the parts of its location it did not know filled in."""
        known = {field.name: getattr(self.location, field.name) for field in fields(Location)}
        return type(self)(self.reason, self.kind, **{**known, **{k: v for k, v in where.items() if known[k] is None}})


class SectionError(DocexecError):
    """A snippet file or section reference is wrong; the message says where and why."""


class FrozenFileError(DocexecError):
    """A frozen file cannot be trusted: not JSON, the wrong shape, or edited by hand."""


class WorkerFailed(Exception):
    """A worker died, hung, could not start, or answered nonsense; the message says which."""


class WorkerTimeout(WorkerFailed):
    def __init__(self, message: str, at: str | None):
        super().__init__(message)
        self.at = at  # file:line the page's code was at when it was stopped, if known


class PageFailed(Exception):
    """The page cannot be built: the failure `kind` of TEMPLATES, saying `reason`, at `item` (a Block,
    an InlineValue or None); the PageCache adds the page and the item's location."""

    # What each verdict says, filled in (str.format) with `fields`. `on` is " on backend NAME (LABEL)"
    # for a backend's worker and "" for the build's own; the other fields are named here.
    TEMPLATES = {
        "timeout": "ran past the page's time limit of {limit:g} s{on} (set another with "
                   "<!-- docexec timeout=SECONDS -->){at}",
        "exited": "raised {text} at {where}{on}; a section must not exit or interrupt the build (it runs in a worker "
                  "process, which the build stops)\n{details}",
        "code_failed": "failed at {where}{on}{expected}\n{details}",
        "raised_nothing": 'the block is marked raises="{expected}" but raised nothing{on}',
        "threads_left": "the section left {count} thread(s) running ({names}){on}; join every thread a section starts "
                        "before it ends, so that what it prints lands in its own output",
        "too_much_output": "the block produced {kb:.0f} kB of output{on}, over the limit of {limit_kb:g} kB a block; "
                           "print less, or raise the page's limit with <!-- docexec output-limit=KB -->",
        "address": "the output shows a memory address{on}, which changes on every run ({source}): {line!r}; "
                   "print something stable instead (a value, a name, a shape)",
        "hidden_shows": "the block is hidden but printed or drew something{on}; show it, or keep set-up sections quiet",
        "claim_not_bool": 'the check of claim "{sentence}" must end in an expression that is True or False, or in '
                          "docexec.checks.over(...){on}; it ended in {value_type}",
        "claim_ran_on_nothing": 'the check of claim "{sentence}" ran over no configurations{on}; '
                                "its check ends at {last_line}",
        "claim_false_on": 'claim is false on {failed} of {count} configurations{on}: "{sentence}"\n'
                          "  its check ends at {last_line}; the first it failed on:\n{listed}",
        "claim_false": 'claim is false{on}: "{sentence}"\n  its check ends at {last_line}\n{output}',
        "backends_missing": "the section runs on backends that are not installed ({parts}); {hint}. Reading the site "
                            "does not need them: frozen outputs serve every page whose sections are unchanged",
        "inline_raised": "`{{py}} {expression}` raised {text}",
        "inline_threads": "the inline value left {count} thread(s) running ({names}); an inline value must not start "
                          "threads",
        "inline_too_big": "the inline value is {kb:.0f} kB, over the limit of {limit_kb:g} kB; show less, or raise the "
                          "page's limit with <!-- docexec output-limit=KB -->",
        "out_of_memory": "the section ran out of memory at {where}{on}: the page's memory limit is {limit} MB (set "
                         "another with <!-- docexec memory=MB -->)",
        "file_too_large": "the section wrote a file over the page's limit of {limit} MB a file at {where}{on} ("
                          "File too large; set another with <!-- docexec file-size=MB -->)",
        "worker_died": "{who} {error}{hint}",
        "worker_start": "{who} could not start: {error}{hint}",
        "refused": "{who} refused a request: {reason}",
        "engine_bug": "{who}: {type}: {error}",  # a bug in the engine, named with the page it ran
    }

    def __init__(self, kind: str, item=None, on: str = "", **fields):
        """The failure `kind` of TEMPLATES, at `item`."""
        self.reason, self.item, self.kind = self.TEMPLATES[kind].format(on=on, **fields), item, kind
        super().__init__(self.reason)
