"""Where a page's results come from: memory, the frozen store, or running its code; and the
errors that stop a build."""

from __future__ import annotations

import logging
from pathlib import Path

from . import compare
from .errors import DocexecError, Location
from .execution import PageFailed, PageRun, backend_versions, modules_unchanged, page_backends, prestart
from .freeze import FrozenFileError, Store, library_versions, page_key
from .page import Page, key_items

__all__ = ["DocexecError", "Engine"]

LOG = logging.getLogger("mkdocs.docexec")


class Engine:
    """Finds each page's results: from memory, from the frozen store, or by running it."""

    memory: dict = {}  # (root, page) -> record, shared by every Markdown instance of a build

    def __init__(self, root: Path, docs_dir: Path, store: Path, mode: str, timeout: float):
        self.root, self.docs_dir, self.store = root, docs_dir, Store(store)
        self.mode, self.timeout = mode, timeout
        if mode != "auto":
            prestart(root)

    def record(self, name: str, page: Page) -> dict:
        versions = dict(library_versions())
        stored = self.load(name, page)
        backends = backend_versions(page_backends(page))
        for backend, libraries in backends.items():
            # Not installed here: the frozen outputs stand for it, so reading the site needs no
            # backend (editing the page's sections does, and the run says what to install).
            if "not installed" in libraries.values() and stored and backend in (stored.get("backends") or {}):
                backends[backend] = stored["backends"][backend]
        key = page_key(key_items(page), self.root, {**versions, **({"backends": backends} if backends else {})})
        remembered = self.memory.get((self.root, name))
        if remembered and remembered["key"] == key and modules_unchanged(remembered, self.root):
            return remembered
        if self.mode == "auto" and stored and stored["key"] == key and modules_unchanged(stored, self.root):
            record = stored
        else:
            results, modules = self.execute(name, page)
            fresh = {"page": name, "key": key, "versions": versions, **({"backends": backends} if backends else {}),
                     "modules": dict(sorted(modules.items())), "results": results}
            if self.mode == "check":
                self.compare(name, page, stored, fresh)
                record = stored  # what the page shows is what frozen/ holds, on every kernel path
            else:
                record = self.settle(stored, fresh)
                self.store.save(name, record)
        self.memory[(self.root, name)] = record
        return record

    def load(self, name: str, page: Page) -> dict | None:
        try:
            return self.store.load(name, len(page.items))
        except FrozenFileError as error:
            if self.mode == "check":
                raise DocexecError(
                    f"its frozen outputs cannot be used: {error}. Run `make outputs` and commit the file.",
                    **self.location(name, None),
                ) from None
            LOG.info("docexec: %s; running %s again and rewriting it", error, self._where(name, None))
            return None

    @staticmethod
    def settle(stored: dict | None, fresh: dict) -> dict:
        """The record to store: the fresh one, but with the frozen results where they agree to
        round-off, so a run on another TensorFlow kernel path does not churn frozen/."""
        if stored and compare.mismatch(stored["results"], fresh["results"]) is None:
            return {**fresh, "results": stored["results"]}
        return fresh

    def execute(self, name: str, page: Page) -> tuple[list[dict], dict[str, str]]:
        """The page's results, run in fresh worker processes (docexec.execution), and the
        project modules the run loaded (file -> sha256), dynamic imports included."""
        run = PageRun(self.root, page, page.timeout or self.timeout, page.output_limit)
        try:
            return run.run(), run.modules
        except PageFailed as failure:
            raise DocexecError(failure.reason, **self.location(name, failure.item)) from None

    def compare(self, name: str, page: Page, stored: dict | None, fresh: dict) -> None:
        """Fail unless the executed outputs are the frozen ones up to round-off, and the frozen
        ones were made from this page's code, modules and library versions."""
        frozen_file = self.store.path(name).relative_to(self.root)
        if stored is None:
            raise DocexecError(
                f"the page has no frozen outputs in {frozen_file}; run `make outputs` and commit them",
                **self.location(name, None),
            )
        for index, (before, after) in enumerate(zip(stored["results"], fresh["results"], strict=True)):
            difference = compare.mismatch(before, after)
            if difference:
                raise DocexecError(
                    f"the output differs from the frozen one in {frozen_file}: {difference}\n"
                    f"(compared as: {compare.TOLERANCE_TEXT})\n{compare.unified_diff(before, after)}\n"
                    f"If the change is intended, run `make outputs`, re-read the prose around it, and commit.",
                    **self.location(name, page.items[index]),
                )
        if stored["key"] != fresh["key"]:
            raise DocexecError(
                f"{frozen_file} was not made from the current page: its key differs (the page's code, "
                f"a snippets module it imports, or a library version changed since). "
                f"Run `make outputs` and commit {frozen_file}.",
                **self.location(name, None),
            )

    def location(self, name: str, item) -> dict:
        """Where `item` of page `name` is, for a DocexecError."""
        return {"page": f"{self.docs_dir.name}/{name}", **(item.where if item is not None else {})}

    def _where(self, name: str, item) -> str:
        return str(Location(**self.location(name, item)))
