"""The Python-Markdown extension: finds a page's `python exec` blocks and `{py}` values,
gets their results (frozen or freshly executed), and renders code, output, figures and claims.

Execution lives here, in a Markdown extension rather than a MkDocs hook, so that no tool
that renders these pages can build them without running their code.
"""

from __future__ import annotations

import base64
import difflib
import functools
import html
import json
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from markdown import Extension
from markdown.preprocessors import Preprocessor

from .freeze import PACKAGE, Store, library_versions, mode_from_environment, page_key
from .runner import Deadline, Namespace, PageTimeout, describe_failure
from .sections import SectionError, load_section, parse_include

try:  # a BuildError makes MkDocs print the message alone and exit 1, strict or not
    from mkdocs.exceptions import BuildError as _ErrorBase
except ImportError:  # pragma: no cover - other renderers get a plain exception
    _ErrorBase = Exception

FENCE_OPEN = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<info>.*)$")
INLINE_VALUE = re.compile(r"`\{py\}\s+([^`]+?)\s*`")
DIRECTIVE = re.compile(r"^\s*<!--\s*docexec\s+(?P<options>.*?)\s*-->\s*$")
BLOCK_OPTIONS = {"hidden", "alt", "raises", "claim"}
TOKEN_OPEN, TOKEN_CLOSE = "\ue000", "\ue001"  # private-use characters: never in a page
TOKEN = re.compile(f"{TOKEN_OPEN}(\\d+){TOKEN_CLOSE}")


class DocexecError(_ErrorBase):
    """A page cannot be built: bad reference, failing code, false claim or changed output."""


@dataclass
class Block:
    line: int  # 1-based line of the opening fence in the page
    indent: str
    source: str  # "snippets/x.py:name"
    options: dict
    code: str = ""
    path: str = ""
    first_line: int = 0


@dataclass
class Page:
    """A page's executable items in reading order, and the lines they came from."""

    lines: list[str]
    items: list = field(default_factory=list)  # Block or str (an inline expression)
    timeout: float | None = None
    claims_index: bool = False


# ----------------------------------------------------------------------------- parsing


def parse_page(lines: list[str]) -> Page:
    page = Page(lines)
    fence_end = None  # the closing fence of a non-exec fence we are inside
    number = 0
    while number < len(lines):
        line = lines[number]
        if fence_end is not None:
            if _closes(line, fence_end):
                fence_end = None
            number += 1
            continue
        opening = FENCE_OPEN.match(line)
        if opening:
            info = opening["info"].split()
            if info[:2] == ["python", "exec"]:
                block, number = _parse_block(lines, number, opening)
                page.items.append(block)
                continue
            fence_end = opening["fence"]
        elif directive := DIRECTIVE.match(line):
            _apply_directive(page, directive["options"], number + 1)
        else:
            page.items.extend(match.group(1) for match in INLINE_VALUE.finditer(line))
        number += 1
    if fence_end is not None:
        raise SectionError(f"a code fence {fence_end} is never closed")
    return page


def _closes(line: str, fence: str) -> bool:
    """Whether `line` closes a fence opened with `fence` (same character, at least as long)."""
    text = line.strip()
    return text.startswith(fence) and not text.strip(fence[0])


def _parse_block(lines, start, opening) -> tuple[Block, int]:
    fence, indent = opening["fence"], opening["indent"]
    options = _parse_options(opening["info"].split(None, 2)[2] if len(opening["info"].split()) > 2 else "", start + 1)
    body, end = [], start + 1
    while end < len(lines) and not (
        _closes(lines[end], fence)
    ):
        if lines[end].strip():
            body.append(lines[end])
        end += 1
    if end == len(lines):
        raise SectionError(f"page line {start + 1}: the `python exec` fence is never closed")
    if len(body) != 1:
        raise SectionError(
            f"page line {start + 1}: a `python exec` block holds exactly one include line "
            f"(--8<-- \"snippets/module.py:section\"); found {len(body)} lines"
        )
    path, name = parse_include(body[0])
    return Block(start + 1, indent, f"{path}:{name}", options), end + 1


def _parse_options(text: str, line: int) -> dict:
    options = {}
    for word in shlex.split(text):
        key, has_value, value = word.partition("=")
        if key not in BLOCK_OPTIONS:
            raise SectionError(
                f"page line {line}: unknown option {key!r}; allowed: {', '.join(sorted(BLOCK_OPTIONS))}"
            )
        if (key == "hidden") == bool(has_value):
            form = "hidden" if key == "hidden" else f'{key}="..."'
            raise SectionError(f"page line {line}: option {key!r} is written {form}")
        options[key] = value if has_value else True
    if "claim" in options and ("hidden" in options or "raises" in options):
        raise SectionError(f"page line {line}: a claim block cannot also be hidden or raise")
    return options


def _apply_directive(page: Page, text: str, line: int) -> None:
    for word in text.split():
        key, _, value = word.partition("=")
        if key == "claims-index" and not value:
            page.claims_index = True
        elif key == "timeout":
            try:
                page.timeout = float(value)
            except ValueError:
                page.timeout = -1
            if not page.timeout > 0:
                raise SectionError(f"page line {line}: timeout must be a positive number of seconds, got {value!r}")
        else:
            raise SectionError(f"page line {line}: unknown docexec directive {word!r}; use timeout=SECONDS or claims-index")


def resolve_sections(page: Page, root: Path) -> None:
    for item in page.items:
        if isinstance(item, Block):
            path, name = item.source.rsplit(":", 1)
            try:
                section = load_section(root, path, name)
            except SectionError as error:
                raise SectionError(f"page line {item.line}: {error}") from None
            item.code, item.path, item.first_line = section.code, section.path, section.first_line


def key_items(page: Page) -> list[dict]:
    """What the page's outputs depend on, apart from imported modules and versions.
    Line numbers are left out: moving a section within its file does not change its output."""
    items = []
    for item in page.items:
        if isinstance(item, Block):
            items.append({"source": item.source, "code": item.code, "options": item.options})
        else:
            items.append({"expression": item})
    return items


# ----------------------------------------------------------------------------- executing


class Engine:
    """Finds each page's results: from memory, from the frozen store, or by running it."""

    memory: dict = {}  # (root, page) -> record, shared by every Markdown instance of a build

    def __init__(self, root: Path, docs_dir: Path, store: Path, mode: str, timeout: float):
        self.root, self.docs_dir, self.store = root, docs_dir, Store(store)
        self.mode, self.timeout = mode, timeout

    def record(self, name: str, page: Page) -> dict:
        versions = dict(library_versions())
        key = page_key(key_items(page), self.root, versions)
        remembered = self.memory.get((self.root, name))
        if remembered and remembered["key"] == key:
            return remembered
        stored = self.store.load(name)
        if self.mode == "auto" and stored and stored.get("key") == key:
            record = stored
        else:
            record = {"page": name, "key": key, "versions": versions, "results": self.execute(name, page)}
            if self.mode == "check":
                self.compare(name, page, stored, record)
            else:
                self.store.save(name, record)
        self.memory[(self.root, name)] = record
        return record

    def execute(self, name: str, page: Page) -> list[dict]:
        namespace = Namespace(self.root, PACKAGE)
        results = []
        limit = page.timeout or self.timeout
        current = None
        try:
            with Deadline(limit):
                for current in page.items:
                    results.append(self.run_item(name, namespace, current))
        except PageTimeout as timeout:
            failure = describe_failure(timeout, self.root)
            raise DocexecError(
                f"docexec: {self._where(name, current)} ran past the page's time limit of {limit:g} s "
                f"(set another with <!-- docexec timeout=SECONDS -->); it was at {failure.where}"
            ) from None
        return results

    def run_item(self, name: str, namespace: Namespace, item) -> dict:
        if not isinstance(item, Block):
            try:
                text = namespace.evaluate(item)
            except Exception as error:
                raise DocexecError(
                    f"docexec: {self._where(name, item)}: `{{py}} {item}` raised "
                    f"{type(error).__name__}: {error}"
                ) from None
            return {"expression": item, "value": text}
        result = namespace.run(item.code, item.path, item.first_line)
        expected = item.options.get("raises")
        if result.raised is not None:
            raised = result.raised
            if expected and type(raised).__name__ == expected:
                result.error = namespace.normalise(f"{type(raised).__name__}: {raised}")
            else:
                failure = describe_failure(raised, self.root)
                extra = f" (the page expected {expected})" if expected else ""
                raise DocexecError(
                    f"docexec: {self._where(name, item)} failed at {failure.where}{extra}\n{failure.details}"
                )
        elif expected:
            raise DocexecError(
                f"docexec: {self._where(name, item)} is marked raises=\"{expected}\" but raised nothing"
            )
        if "hidden" in item.options and (result.output.strip() or result.value or result.figures):
            raise DocexecError(
                f"docexec: {self._where(name, item)} is hidden but printed or drew something; "
                f"show it, or keep set-up sections quiet"
            )
        record = {"source": item.source, **result.as_record()}
        if "claim" in item.options:
            self.check_claim(name, item, result)
            record["claim"] = item.options["claim"]
        return record

    def check_claim(self, name: str, item: Block, result) -> None:
        value = result.raw_value
        if type(value).__name__ not in ("bool", "bool_"):
            raise DocexecError(
                f"docexec: {self._where(name, item)}: the check of claim \"{item.options['claim']}\" must end "
                f"in an expression that is True or False; it ended in {type(value).__name__}"
            )
        if not bool(value):
            last = item.first_line + len(item.code.splitlines()) - 1
            raise DocexecError(
                f"docexec: claim is false: \"{item.options['claim']}\"\n"
                f"  checked by {item.path}:{last} (section '{item.source.rsplit(':', 1)[1]}'), "
                f"{self._where(name, item)}\n{result.output}"
            )

    def compare(self, name: str, page: Page, stored: dict | None, fresh: dict) -> None:
        if stored is None:
            raise DocexecError(
                f"docexec: {self.docs_dir.name}/{name} has no frozen outputs in {self.store.path(name)}; "
                f"run `make outputs` and commit them"
            )
        old, new = stored.get("results", []), fresh["results"]
        for index in range(max(len(old), len(new))):
            before = old[index] if index < len(old) else None
            after = new[index] if index < len(new) else None
            if before != after:
                item = page.items[index] if index < len(page.items) else None
                diff = "\n".join(
                    difflib.unified_diff(_lines(before), _lines(after), "frozen", "executed now", lineterm="")
                )
                raise DocexecError(
                    f"docexec: the output of {self._where(name, item)} differs from the frozen one in "
                    f"{self.store.path(name).relative_to(self.root)}:\n{diff}\n"
                    f"If the change is intended, run `make outputs`, re-read the prose around it, and commit."
                )

    def _where(self, name: str, item) -> str:
        page = f"page {self.docs_dir.name}/{name}"
        if isinstance(item, Block):
            return f"{page} line {item.line} ({item.path}:{item.first_line}, section '{item.source.rsplit(':', 1)[1]}')"
        if isinstance(item, str):
            return f"{page}, inline value"
        return page


def _lines(result) -> list[str]:
    return json.dumps(result, indent=1, ensure_ascii=False).splitlines() if result is not None else []


# ----------------------------------------------------------------------------- rendering


class ExecPreprocessor(Preprocessor):
    def __init__(self, md, config: dict):
        super().__init__(md)
        self.config = config
        self.pending: list[str] = []
        root = Path(config["root"]).resolve()
        self.engine = Engine(
            root,
            (root / config["docs_dir"]).resolve(),
            (root / config["store"]).resolve(),
            config["mode"] or mode_from_environment(),
            float(config["timeout"]),
        )

    def run(self, lines: list[str]) -> list[str]:
        try:
            page = parse_page(lines)
            name = self.page_name(lines) if page.items else None
            if page.items:
                resolve_sections(page, self.engine.root)
        except SectionError as error:
            where = f"{self.engine.docs_dir.name}/{self.config['page'] or self._guess(lines)}"
            raise DocexecError(f"docexec: {where}: {error}") from None
        record = self.engine.record(name, page) if page.items else None
        output = self.render(page, record)
        if page.claims_index:
            output += self.claims_index(name)
        return output + ["", self.stash(self.stamp(record))]

    def page_name(self, lines: list[str]) -> str:
        if self.config["page"]:
            return self.config["page"]
        found = locate_page(lines, self.engine.docs_dir)
        if found is None:
            raise SectionError(
                f"cannot tell which file under {self.engine.docs_dir} this page is "
                f"(no file has exactly this text); pass the extension option `page`"
            )
        return found

    def _guess(self, lines):
        return locate_page(lines, self.engine.docs_dir) or "(unknown page)"

    def render(self, page: Page, record: dict | None) -> list[str]:
        results = iter(record["results"]) if record else iter(())
        blocks = {item.line: item for item in page.items if isinstance(item, Block)}
        out, number, fence_end = [], 0, None
        while number < len(page.lines):
            line = page.lines[number]
            if fence_end is not None:
                out.append(line)
                if _closes(line, fence_end):
                    fence_end = None
                number += 1
                continue
            if number + 1 in blocks:
                block = blocks[number + 1]
                out.extend(self.render_block(block, next(results), record["versions"]))
                number = self._after_fence(page.lines, number)
                continue
            opening = FENCE_OPEN.match(line)
            if opening:
                fence_end = opening["fence"]
                out.append(line)
            elif not DIRECTIVE.match(line):
                out.append(INLINE_VALUE.sub(lambda m: self.stash(self.value_html(next(results))), line))
            number += 1
        return out

    @staticmethod
    def _after_fence(lines, start) -> int:
        fence = FENCE_OPEN.match(lines[start])["fence"]
        end = start + 1
        while not (_closes(lines[end], fence)):
            end += 1
        return end + 1

    def render_block(self, block: Block, result: dict, versions: dict) -> list[str]:
        if "hidden" in block.options:
            return []
        indent = block.indent
        if "claim" in block.options:
            return self.render_claim(block, result, versions)
        ticks = "`" * max(3, 1 + max((len(run) for run in re.findall("`+", block.code)), default=0))
        lines = ["", f'{indent}{ticks}python title="{block.path}"']
        lines += [indent + code_line if code_line else "" for code_line in block.code.splitlines()]
        lines += [indent + ticks, ""]
        output = self.output_html(result, block.options.get("alt"), block)
        if output:
            lines += [indent + self.stash(output), ""]
        return lines

    def output_html(self, result: dict, alt: str | None, block: Block) -> str:
        text = "\n".join(result["output"] + (result["value"] or []) + ([result["error"]] if result["error"] else []))
        parts = []
        if text.strip():
            label = "Raised" if result["error"] and not result["output"] and not result["value"] else "Output"
            parts.append(
                f'<div class="docexec-output" role="group" aria-label="{label}">'
                f'<span class="docexec-label" aria-hidden="true">{label}</span>'
                f"<pre><code>{html.escape(text)}</code></pre></div>"
            )
        for number, svg in enumerate(result["figures"], start=1):
            if not alt:
                raise DocexecError(
                    f"docexec: block at page line {block.line} ({block.source}) draws a figure "
                    f'but has no alt text; add alt="..." to its fence'
                )
            text_alt = alt if len(result["figures"]) == 1 else f"{alt} ({number} of {len(result['figures'])})"
            data = base64.b64encode("\n".join(svg).encode()).decode()
            parts.append(
                f'<figure class="docexec-figure"><img alt="{html.escape(text_alt)}" '
                f'src="data:image/svg+xml;base64,{data}"></figure>'
            )
        return "\n".join(parts)

    def render_claim(self, block: Block, result: dict, versions: dict) -> list[str]:
        """A native admonition, so the claim's id is seen by MkDocs' anchor validation."""
        sentence = block.options["claim"]
        code = _highlighted(block.code)
        check = (
            f'<details class="docexec-check"><summary>Checked by <code>{block.path}</code> '
            f'when this page was built, with {_versions_text(versions)}</summary>'
            f'<div class="highlight"><pre><code>{code}</code></pre></div>'
            f"{self.output_html(result, block.options.get('alt'), block)}</details>"
        )
        body = [sentence, f"{{: #{claim_id(sentence)} }}", "", self.stash(check)]
        indent = block.indent
        return ["", f'{indent}!!! success docexec-claim "Verified"', *(f"{indent}    {line}" if line else "" for line in body), ""]

    @staticmethod
    def value_html(result: dict) -> str:
        return f'<span class="docexec-value">{html.escape(result["value"])}</span>'

    def stamp(self, record: dict | None) -> str:
        if record:
            text = f"Every output on this page was produced by running its code with {_versions_text(record['versions'])}."
        else:
            text = f"This page runs no code; the site was built with {_versions_text(library_versions())}."
        return f'<p class="docexec-stamp">{html.escape(text)}</p>'

    def claims_index(self, this_page: str | None) -> list[str]:
        rows = []
        for file in sorted(self.engine.docs_dir.rglob("*.md")):
            name = file.relative_to(self.engine.docs_dir).as_posix()
            if name == this_page:
                continue
            lines = strip_front_matter(file.read_text(encoding="utf-8-sig")).split("\n")
            page = parse_page(lines)
            claims = [item for item in page.items if isinstance(item, Block) and "claim" in item.options]
            if not claims:
                continue
            resolve_sections(page, self.engine.root)
            self.engine.record(name, page)  # a false claim fails here, before it is listed
            title = next((line[2:].strip() for line in lines if line.startswith("# ")), name)
            link = os.path.relpath(name, os.path.dirname(this_page or "index.md"))
            for block in claims:
                sentence = block.options["claim"]
                rows.append(f"| {sentence} | [{title}]({link}#{claim_id(sentence)}) | Verified |")
        if not rows:
            raise DocexecError("docexec: the claims index found no claims in any page")
        versions = _versions_text(library_versions())
        return [
            "",
            f"{len(rows)} claims, each checked by running its code with {versions} when this site was built.",
            "",
            "| Claim | Page | Status |",
            "| --- | --- | --- |",
            *rows,
            "",
        ]

    def stash(self, text: str) -> str:
        """A token for raw HTML; `StashTokens` swaps it for Markdown's own placeholder later,
        since whitespace normalisation (which runs after us) strips those placeholders."""
        self.pending.append(text)
        return f"{TOKEN_OPEN}{len(self.pending) - 1}{TOKEN_CLOSE}"


class StashTokens(Preprocessor):
    def __init__(self, md, pending: list[str]):
        super().__init__(md)
        self.pending = pending

    def run(self, lines: list[str]) -> list[str]:
        swap = lambda match: self.md.htmlStash.store(self.pending[int(match.group(1))])  # noqa: E731
        lines = [TOKEN.sub(swap, line) for line in lines]
        self.pending.clear()
        return lines


@functools.lru_cache(maxsize=1024)
def _highlighted(code: str) -> str:
    from pygments import highlight
    from pygments.formatters import HtmlFormatter

    return highlight(code, _python_lexer(), HtmlFormatter(nowrap=True))


@functools.lru_cache(maxsize=1)
def _python_lexer():
    from pygments.lexers import PythonLexer

    return PythonLexer()


def claim_id(sentence: str) -> str:
    words = re.findall(r"[a-z0-9]+", sentence.lower())
    return "claim-" + "-".join(words)[:60].rstrip("-")


def _versions_text(versions: dict) -> str:
    shown = [f"{label} {versions[label]}" for label in ("NumPy", "TensorFlow", "Keras") if label in versions]
    return ", ".join(shown[:-1]) + " and " + shown[-1]


def strip_front_matter(text: str) -> str:
    match = re.match(r"^-{3}[ \t]*\n.*?\n(?:-{3}|\.{3})[ \t]*\n", text, re.S)
    return text[match.end():] if match else text


def _normalised(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines()).strip()


_LOCATED: dict = {}


def locate_page(lines: list[str], docs_dir: Path) -> str | None:
    """The path (inside docs_dir) of the Markdown file whose body is exactly these lines."""
    wanted = _normalised("\n".join(lines))
    if (docs_dir, wanted) in _LOCATED:
        return _LOCATED[(docs_dir, wanted)]
    matches = [
        file.relative_to(docs_dir).as_posix()
        for file in sorted(docs_dir.rglob("*.md"))
        if _normalised(strip_front_matter(file.read_text(encoding="utf-8-sig"))) == wanted
    ]
    found = matches[0] if len(matches) == 1 else None
    _LOCATED[(docs_dir, wanted)] = found
    return found


class DocexecExtension(Extension):
    def __init__(self, **kwargs):
        self.config = {
            "root": [".", "project root: snippet paths, docs_dir and store are relative to it"],
            "docs_dir": ["docs", "where the pages are"],
            "store": ["frozen", "where frozen outputs are kept"],
            "page": ["", "this page's path inside docs_dir; found by its text when empty"],
            "mode": ["", "auto, check or refresh; empty reads DOCEXEC_MODE, then CI"],
            "timeout": [120.0, "default time limit of one page, in seconds"],
        }
        super().__init__(**kwargs)

    def extendMarkdown(self, md):
        # Before pymdownx.snippets (32) and whitespace normalisation (30): the page is still as written.
        executor = ExecPreprocessor(md, self.getConfigs())
        md.preprocessors.register(executor, "docexec", 35)
        md.preprocessors.register(StashTokens(md, executor.pending), "docexec_html", 29)
        md.registerExtension(self)


def makeExtension(**kwargs):
    return DocexecExtension(**kwargs)
