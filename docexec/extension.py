"""The Python-Markdown extension: parses a page's `python exec` blocks and `{py}` values, gets
their records from the cache (docexec/cache.py), frozen or freshly executed, and renders them.
In a Markdown extension, not a MkDocs hook: no tool renders these pages without their code."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from markdown import Extension
from markdown.preprocessors import Preprocessor

from .backends import BACKENDS, library_versions
from .cache import PageCache
from .claims import claims_index
from .config import source_url
from .errors import DocexecError
from .freeze import mode_from_environment
from .page import locate_page, parse_page
from .render import render_page, stamp_html

TOKEN_OPEN, TOKEN_CLOSE = "\ue000", "\ue001"  # private-use characters, rare in a page
# ...but a section may hold them (issue 18: "\ue0000\ue001" in a code line showed another
# fragment, "\ue000999\ue001" crashed the build): this build's tokens carry a random salt that no
# file can contain, and a token not issued for this page is left as it is.
SALT = secrets.token_hex(8)
TOKEN = re.compile(f"{TOKEN_OPEN}{SALT}:(\\d+){TOKEN_CLOSE}")


class ExecPreprocessor(Preprocessor):
    def __init__(self, md, config: dict):
        super().__init__(md)
        self.config = config
        self.pending: list[str] = []
        try:
            self.cache, self.failure = page_cache(config), None
        except DocexecError as error:  # said by the first page: MkDocs would call it an extension that failed to load
            self.cache, self.failure = None, error
        self.backends = self.cache.backends if self.cache else BACKENDS

    def run(self, lines: list[str]) -> list[str]:
        docs = (Path(self.config["root"]) / self.config["docs_dir"]).resolve()
        if self.failure is not None:
            raise self.failure.at(page=f"{docs.name}/{self.page_name(lines, docs) or '(unknown page)'}")
        try:
            page = parse_page(lines, self.cache.root, self.backends)
            name = self.page_name(lines, docs) if page.items else None
            if page.items and not name:
                raise DocexecError(f"cannot tell which file under {docs} this page is (no file has exactly this text); "
                                   "add docexec/hook.py to mkdocs.yml's hooks, or pass the option `page`",
                                   "page_unknown")
            record = self.cache.record(name, page) if page.items else None
            output = render_page(page, record, self.stash, self.backends, escape="snippet" in self.md.preprocessors,
                                 source=(self.config["source"] or source_url(self.cache.root)) if page.items else "")
            if page.claims_index:
                output += claims_index(self.cache, name, self.stash)
        except DocexecError as error:
            raise error.at(page=f"{docs.name}/{self.page_name(lines, docs) or '(unknown page)'}") from None
        return output + ["", self.stash(stamp_html(record, library_versions(), self.backends))]

    def page_name(self, lines: list[str], docs: Path) -> str | None:
        """The page's path inside docs_dir: set by docexec/hook.py (or the option `page`), else
        found by its text."""
        return self.config["page"] or locate_page(lines, docs)

    def stash(self, text: str) -> str:
        """A token for raw HTML; `StashTokens` swaps it for Markdown's own placeholder later,
        since whitespace normalisation (which runs after us) strips those placeholders."""
        self.pending.append(text)
        return f"{TOKEN_OPEN}{SALT}:{len(self.pending) - 1}{TOKEN_CLOSE}"


def page_cache(config: dict) -> PageCache:
    """The cache for the extension's options (DocexecExtension(...).getConfigs())."""
    root = Path(config["root"]).resolve()
    return PageCache(
        root,
        (root / config["docs_dir"]).resolve(),
        (root / config["store"]).resolve(),
        config["mode"] or mode_from_environment(),
        float(config["timeout"]),
        config["backends"] or BACKENDS,
    )


class StashTokens(Preprocessor):
    def __init__(self, md, pending: list[str]):
        super().__init__(md)
        self.pending = pending

    def run(self, lines: list[str]) -> list[str]:
        lines = [TOKEN.sub(lambda match: self.md.htmlStash.store(self.pending[int(match[1])]), line) for line in lines]
        self.pending.clear()
        return lines


class DocexecExtension(Extension):
    def __init__(self, **kwargs):
        self.config = {
            "root": [".", "project root: snippet paths, docs_dir and store are relative to it"],
            "docs_dir": ["docs", "where the pages are"],
            "store": ["frozen", "where frozen outputs are kept"],
            "page": ["", "this page's path inside docs_dir; found by its text when empty"],
            "mode": ["", "auto, check or refresh; empty reads DOCEXEC_MODE, then CI"],
            "timeout": [120.0, "default time limit of one page, in seconds"],
            # Not None: Markdown would turn a mapping given for a None default into a bool.
            "backends": ["", "name -> docexec.backends.Backend a block may run on; empty: the site's BACKENDS"],
            "source": ["", "URL a snippet's path is appended to, for the claim boxes' links to the lines they ran; "
                           "empty: mkdocs.yml's repo_url at the checked-out commit (config.source_url)"],
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
