"""The Python-Markdown extension: finds a page's `python exec` blocks and `{py}` values,
gets their results (frozen or freshly executed), and renders code, output, figures and claims.

Execution lives here, in a Markdown extension rather than a MkDocs hook, so that no tool
that renders these pages can build them without running their code.
"""

from __future__ import annotations

import base64
import functools
import html
import os
import re
from pathlib import Path

from markdown import Extension
from markdown.preprocessors import Preprocessor

from .engine import DocexecError, Engine
from .freeze import library_versions, mode_from_environment
from .page import (
    DIRECTIVE,
    FENCE_OPEN,
    INLINE_VALUE,
    Block,
    Page,
    closes,
    locate_page,
    parse_page,
    resolve_sections,
    strip_front_matter,
)
from .sections import SectionError

TOKEN_OPEN, TOKEN_CLOSE = "\ue000", "\ue001"  # private-use characters: never in a page
TOKEN = re.compile(f"{TOKEN_OPEN}(\\d+){TOKEN_CLOSE}")


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
                if closes(line, fence_end):
                    fence_end = None
                number += 1
                continue
            if number + 1 in blocks:
                block = blocks[number + 1]
                out.extend(self.render_block(block, next(results), record["versions"]))
                number = block.end
                continue
            opening = FENCE_OPEN.match(line)
            if opening:
                fence_end = opening["fence"]
                out.append(line)
            elif not DIRECTIVE.match(line):
                out.append(INLINE_VALUE.sub(lambda m: self.stash(self.value_html(next(results))), line))
            number += 1
        return out

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
                f'<div class="docexec-output" role="group" aria-label="{label}" data-search-exclude>'
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
        for file in reading_order(self.engine.docs_dir, self.engine.root / "mkdocs.yml"):
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


def reading_order(docs_dir: Path, config: Path) -> list[Path]:
    """The pages in the order the site's navigation lists them, then any others by name.
    Read as text: the config may hold tags (!ENV) that a plain YAML loader refuses."""
    listed = re.findall(r"([\w./-]+\.md)\s*$", config.read_text(encoding="utf-8"), re.M) if config.is_file() else []
    position = {name: index for index, name in reversed(list(enumerate(listed)))}
    pages = sorted(docs_dir.rglob("*.md"))
    return sorted(pages, key=lambda file: position.get(file.relative_to(docs_dir).as_posix(), len(listed)))


def claim_id(sentence: str) -> str:
    words = re.findall(r"[a-z0-9]+", sentence.lower())
    return "claim-" + "-".join(words)[:60].rstrip("-")


def _versions_text(versions: dict) -> str:
    shown = [f"{label} {versions[label]}" for label in ("NumPy", "TensorFlow", "Keras") if label in versions]
    return ", ".join(shown[:-1]) + " and " + shown[-1]


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
