"""The one error type of the engine, and the one way a failure says where it happened.

Every message reads `docexec: PAGE:LINE (SNIPPET:LINE, section 'NAME'): what went wrong`,
with the parts that are known. Errors raised while a page is parsed or rendered do not know
the page's file name yet; the extension adds it (`DocexecError.at`) before MkDocs shows it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

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

    def __init__(self, message: str, **where):
        self.reason = message.removeprefix(PREFIX)  # `message` is taken: click's, then the full text
        self.location = Location(**where)
        super().__init__(describe(self.reason, self.location))

    def at(self, **where) -> DocexecError:
        """The same error with the parts of its location it did not know filled in."""
        known = {field.name: getattr(self.location, field.name) for field in fields(Location)}
        missing = {key: value for key, value in where.items() if known[key] is None}
        error = type(self).__new__(type(self))
        error.reason, error.location = self.reason, replace(self.location, **missing)
        _ErrorBase.__init__(error, describe(error.reason, error.location))
        return error
