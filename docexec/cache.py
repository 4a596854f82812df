"""The cache policy: where a page's record comes from (memory, the frozen store, or running its
code), by mode (auto, check, refresh); the errors that stop a build; and which files each
page's record depends on (`inputs`, for dirty rebuilds)."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from . import compare
from .backends import BACKENDS, KERNELS, NOT_INSTALLED, Backends, backend_versions, library_versions, page_backends
from .config import reading_order
from .errors import DocexecError, FrozenFileError, Location, PageFailed
from .execution import PageOutcome, prestart, run_page
from .freeze import Store, changed_modules, modules_current, page_key
from .model import Page, Record
from .page import key_items, page_lines, parse_page

__all__ = ["DocexecError", "PageCache"]

LOG = logging.getLogger("mkdocs.docexec")


class PageCache:
    """Finds each page's results: from memory, from the frozen store, or by running it."""

    memory: dict = {}  # (root, page) -> record, shared by every Markdown instance of a build
    checked: set = set()  # (root, store) whose records were matched with pages, in check mode

    def __init__(self, root: Path, docs_dir: Path, store: Path, mode: str, timeout: float,
                 backends: Backends = BACKENDS):
        self.root, self.docs_dir, self.store = root, docs_dir, Store(store)
        self.mode, self.timeout, self.backends = mode, timeout, backends
        if mode == "check" and (root, store) not in self.checked:
            self.checked.add((root, store))
            for file, page in self.store.orphans(docs_dir):  # probe 43
                raise DocexecError(f"{file.relative_to(root)} is the record of {docs_dir.name}/{page}, which does "
                                   f"not exist; delete it (git rm) with the page", "frozen_orphan")
        if mode != "auto":
            prestart(root)

    def record(self, name: str, page: Page) -> Record:
        versions = dict(library_versions())
        stored = self.load(name, page)
        backends = backend_versions(page_backends(page, self.backends), self.backends)
        for backend, libraries in backends.items():
            # Not installed here: the frozen outputs stand for it, so reading the site needs no
            # backend (editing the page's sections does, and the run says what to install).
            if NOT_INSTALLED in libraries.values() and stored and backend in (stored.backends or {}):
                backends[backend] = stored.backends[backend]
        key = page_key(key_items(page), {**versions, **({"backends": backends} if backends else {})})
        remembered = self.memory.get((self.root, name))
        if remembered and remembered.key == key and modules_current(remembered, self.root):
            return remembered
        if self.mode == "auto" and stored and stored.key == key and modules_current(stored, self.root):
            record = stored
        else:
            outcome = self.execute(name, page)
            ran = {**versions, **({KERNELS: outcome.kernels} if outcome.kernels else {})}
            fresh = Record(name, key, ran, outcome.results, dict(sorted(outcome.modules.items())), backends or None)
            if not modules_current(fresh, self.root):  # its record says so: the next build runs it again
                LOG.info("docexec: a file %s read changed while it ran", Location(**self.location(name, None)))
            if self.mode == "check":
                self.compare(name, page, stored, fresh)
                record = stored  # what the page shows is what frozen/ holds, on every kernel path
            else:
                record = self.settle(stored, fresh)
                self.store.save(name, record)
        self.memory[(self.root, name)] = record
        return record

    def inputs(self) -> dict[str, set[Path] | None]:
        """For dirty rebuilds (hooks/serve.py): each page under docs_dir -> the files whose edit can
        change what it shows: its snippet files, the files its last run read and its record (the
        claims index: every other page's too); None for a page that does not parse."""
        found: dict[str, set[Path] | None] = {}
        indexes = []
        for name in reading_order(self.root, self.docs_dir):
            try:
                page = parse_page(page_lines(self.docs_dir / name), self.root, self.backends)
            except DocexecError:
                found[name] = None
                continue
            record = self.memory.get((self.root, name)) or (self.load(name, page) if page.items else None)
            found[name] = ({self.root / block.section.path for block in page.blocks} | {self.store.path(name)}
                           | {self.root / module for module in (record.modules if record else {})})
            if page.claims_index:
                indexes.append(name)
        for name in indexes:
            for other, theirs in list(found.items()):
                if other != name:
                    found[name] |= {self.docs_dir / other} | (theirs or set())
        return found

    def load(self, name: str, page: Page) -> Record | None:
        try:
            return self.store.load(name, len(page.items))
        except FrozenFileError as error:
            if self.mode == "check":
                raise DocexecError(
                    f"its frozen outputs cannot be used: {error.reason}. Run `make outputs` and commit the file.",
                    error.kind, **self.location(name, None)) from None
            LOG.info("docexec: %s; running %s again and rewriting it", error.reason,
                     Location(**self.location(name, None)))
            return None

    @staticmethod
    def settle(stored: Record | None, fresh: Record) -> Record:
        """The record to store: the fresh one, but with the frozen results where they agree to
        round-off, so a run on another TensorFlow kernel path does not churn frozen/ (its stamp
        then names the kernels of the run that confirmed them)."""
        if stored and compare.mismatch(stored.results_json(), fresh.results_json()) is None:
            return dataclasses.replace(fresh, results=stored.results)
        return fresh

    def execute(self, name: str, page: Page) -> PageOutcome:
        """The page run in fresh worker processes (docexec.execution.run_page)."""
        try:
            return run_page(self.root, page, page.timeout or self.timeout, self.backends)
        except PageFailed as failure:
            raise DocexecError(failure.reason, failure.kind, **self.location(name, failure.item)) from None

    def compare(self, name: str, page: Page, stored: Record | None, fresh: Record) -> None:
        """Fail unless the executed outputs are the frozen ones up to round-off, and the frozen
        ones were made from this page's code, modules and library versions."""
        frozen_file = self.store.path(name).relative_to(self.root)
        location = self.location(name, None)
        if stored is None:
            raise DocexecError(f"the page has no frozen outputs in {frozen_file}; run `make outputs` and commit them",
                               "frozen_missing", **location)
        for index, (before, after) in enumerate(zip(stored.results_json(), fresh.results_json(), strict=True)):
            difference = compare.mismatch(before, after)
            if difference:
                raise DocexecError(
                    f"the output differs from the frozen one in {frozen_file}: {difference}\n"
                    f"(compared as: {compare.TOLERANCE_TEXT})\n{compare.unified_diff(before, after)}\n"
                    f"If the change is intended, run `make outputs`, re-read the prose around it, and commit.",
                    "frozen_differs", **self.location(name, page.items[index]))
        if stored.key != fresh.key:
            raise DocexecError(f"{frozen_file} was not made from the current page: its key differs (the page's code "
                               f"or a library version changed since). Run `make outputs` and commit {frozen_file}.",
                               "frozen_stale", **location)
        changed = changed_modules(stored.modules, fresh.modules)
        if changed:
            raise DocexecError(f"{frozen_file} was not made from the current project modules: this run loaded "
                               f"{', '.join(changed)} with other source, or the frozen run did not load them "
                               f"(or loaded them and this one did not). Run `make outputs` and commit {frozen_file}.",
                               "frozen_modules", **location)

    def location(self, name: str, item) -> dict:
        """Where `item` of page `name` is, for a DocexecError."""
        return {"page": f"{self.docs_dir.name}/{name}", **(item.where if item is not None else {})}
