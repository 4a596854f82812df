"""Where a page's results come from: memory, the frozen store, or running its code; and the
errors that stop a build."""

from __future__ import annotations

import logging
from pathlib import Path

from . import compare
from .errors import DocexecError, Location
from .freeze import PACKAGE, FrozenFileError, Store, libraries_used, library_versions, page_key
from .page import Block, InlineValue, Page, key_items
from .runner import Deadline, Namespace, PageTimeout, describe_failure

__all__ = ["DocexecError", "Engine"]

LOG = logging.getLogger("mkdocs.docexec")


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
        stored = self.load(name, page)
        if self.mode == "auto" and stored and stored["key"] == key:
            record = stored
        else:
            fresh = {"page": name, "key": key, "versions": versions, "results": self.execute(name, page)}
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

    def execute(self, name: str, page: Page) -> list[dict]:
        codes = [item.code for item in page.items if isinstance(item, Block)]
        uses_keras = bool({"keras", "tensorflow"} & libraries_used(codes, self.root))
        namespace = Namespace(self.root, PACKAGE, uses_keras)
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
        if isinstance(item, InlineValue):
            try:
                text = namespace.evaluate(item.expression)
            except Exception as error:
                raise DocexecError(
                    f"`{{py}} {item.expression}` raised {type(error).__name__}: {error}", **self.location(name, item)
                ) from None
            return {"expression": item.expression, "value": text}
        result = namespace.run(item.code, item.section.path, item.section.first_line)
        expected = item.options.get("raises")
        if result.raised is not None:
            raised = result.raised
            if expected and type(raised).__name__ == expected:
                result.error = namespace.normalise(f"{type(raised).__name__}: {raised}")
            else:
                failure = describe_failure(raised, self.root)
                extra = f" (the page expected {expected})" if expected else ""
                raise DocexecError(
                    f"failed at {failure.where}{extra}\n{failure.details}", **self.location(name, item)
                )
        elif expected:
            raise DocexecError(f'the block is marked raises="{expected}" but raised nothing', **self.location(name, item))
        if "hidden" in item.options and (result.output.strip() or result.value or result.figures):
            raise DocexecError(
                "the block is hidden but printed or drew something; show it, or keep set-up sections quiet",
                **self.location(name, item),
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
                f"the check of claim \"{item.options['claim']}\" must end "
                f"in an expression that is True or False; it ended in {type(value).__name__}",
                **self.location(name, item),
            )
        if not bool(value):
            last = item.section.first_line + len(item.code.splitlines()) - 1
            raise DocexecError(
                f"claim is false: \"{item.options['claim']}\"\n"
                f"  its check ends at {item.section.path}:{last}\n{result.output}",
                **self.location(name, item),
            )

    def compare(self, name: str, page: Page, stored: dict | None, fresh: dict) -> None:
        """Fail unless the executed outputs are the frozen ones up to round-off, and the frozen
        ones were made from this page's code, modules and library versions."""
        frozen_file = self.store.path(name).relative_to(self.root)
        if stored is None:
            raise DocexecError(
                f"the page has no frozen outputs in {frozen_file}; run `make outputs` and commit them",
                **self.location(name, None),
            )
        for index, (before, after) in enumerate(zip(stored["results"], fresh["results"])):
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
