"""Where a page's results come from: memory, the frozen store, or running its code; and the
errors that stop a build."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

from .errors import DocexecError, Location
from .freeze import PACKAGE, Store, libraries_used, library_versions, page_key
from .page import Block, InlineValue, Page, key_items
from .runner import Deadline, Namespace, PageTimeout, describe_failure

__all__ = ["DocexecError", "Engine"]


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

    def location(self, name: str, item) -> dict:
        """Where `item` of page `name` is, for a DocexecError."""
        return {"page": f"{self.docs_dir.name}/{name}", **(item.where if item is not None else {})}

    def _where(self, name: str, item) -> str:
        return str(Location(**self.location(name, item)))


def _lines(result) -> list[str]:
    return json.dumps(result, indent=1, ensure_ascii=False).splitlines() if result is not None else []
