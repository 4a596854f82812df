"""Running one page in worker processes, and deciding what each answer means.

A page's blocks without `backends=` and its `{py}` values run, in page order, in one fresh
worker with the build's own environment (the "default" machinery). A block with
`backends="tf-eigen jax"` runs in one fresh worker per named backend instead, each backend's
blocks in page order in one namespace; those workers run in parallel with the default one.

The worker only reports; this module decides: an unexpected exception, an exit, a dead or
hung worker, a thread left running, a memory address, an oversized output, a false claim
each fail the page with a message naming the page, the snippet file:line and, for a
backend, the backend.
"""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

from . import pool as machineries  # BACKENDS read at run time: tests swap in fake backends
from .cleaning import OUTPUT_LIMIT_KB, clean, clean_record, find_address, size
from .freeze import PACKAGE, libraries_used, top_level_imports
from .page import Block, InlineValue
from .pool import DEFAULT, INSTALL_HINT, POOL, WorkerFailed, WorkerTimeout

# A page's default limits (<!-- docexec memory=MB processes=N --> sets others): the pages of
# this site peak far below them (README, "Limits"), and 3 GB arrays or fork bombs are refused.
MEMORY_LIMIT_MB = 2048
PROCESS_LIMIT = 64
STARTUP_LIMIT = 300.0  # seconds a fork server may take to import its libraries (not counted in the page's limit)


class PageFailed(Exception):
    """The page cannot be built: `reason`, at `item` (a Block, an InlineValue or None); the
    Engine adds the page and the item's location."""

    def __init__(self, reason: str, item=None):
        super().__init__(reason)
        self.reason, self.item = reason, item


def backends_of(item) -> list[str]:
    """The backends a block names (`backends="jax torch"`), in the order written; [] for the default."""
    if not isinstance(item, Block):
        return []
    text = item.options.get("backends")
    return text.split() if isinstance(text, str) else []


def page_backends(page) -> list[str]:
    """Backends used by a page, in the order of machineries.BACKENDS."""
    used = {name for item in page.items for name in backends_of(item)}
    return [name for name in machineries.BACKENDS if name in used]


def missing_backends(page, names: list[str]) -> PageFailed | None:
    missing = {name: machineries.BACKENDS[name].missing() for name in names if machineries.BACKENDS[name].missing()}
    if not missing:
        return None
    first = next(item for item in page.items if set(backends_of(item)) & missing.keys())
    parts = "; ".join(f"{name} needs {', '.join(libs)}" for name, libs in missing.items())
    return PageFailed(
        f"the section runs on backends that are not installed ({parts}); {INSTALL_HINT}. "
        f"Reading the site does not need them: frozen outputs serve every page whose sections are unchanged",
        first,
    )


_PRESTARTED: set = set()


def prestart(root: Path) -> None:
    """When every page will run (refresh and check modes), start the default fork server at
    once, so that it imports Keras while MkDocs reads its configuration and the first pages,
    for projects whose snippets use Keras."""
    if root in _PRESTARTED:
        return
    _PRESTARTED.add(root)
    files = sorted((root / PACKAGE).rglob("*.py")) if (root / PACKAGE).is_dir() else []
    codes = [file.read_text(encoding="utf-8", errors="replace") for file in files]
    if {"keras", "tensorflow"} & {name for code in codes for name in top_level_imports(code)}:
        POOL.prestart(DEFAULT, ("keras",))


def backend_versions(names: list[str]) -> dict[str, dict[str, str]]:
    return {name: machineries.BACKENDS[name].versions() for name in names}


def modules_unchanged(record: dict, root: Path) -> bool:
    """Whether every project module the record's run actually loaded (dynamic imports
    included) still has the source it had then."""
    for file, digest in (record.get("modules") or {}).items():
        path = root / file
        if not path.is_file() or _sha256(path) != digest:
            return False
    return True


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class PageRun:
    """One execution of one page."""

    def __init__(self, root: Path, page, limit: float, output_limit_kb: float | None = None, pool=POOL):
        self.root, self.page, self.limit, self.pool = root, page, limit, pool
        self.output_limit = int((output_limit_kb or OUTPUT_LIMIT_KB) * 1000)
        self.limits = {"memory": int(getattr(page, "memory", None) or MEMORY_LIMIT_MB),
                       "processes": int(getattr(page, "processes", None) or PROCESS_LIMIT)}
        self.modules: dict[str, str] = {}  # module file (relative) -> sha256
        self.lock = threading.Lock()
        self.phrases: dict[str, str] = {}
        self.cancelled = False  # set once one worker failed: the others are killed, their failures are echoes

    # --------------------------------------------------------------------- orchestration

    def run(self) -> list[dict]:
        names = page_backends(self.page)
        error = missing_backends(self.page, names)
        if error:
            raise error
        plan = {DEFAULT.name: [(i, item) for i, item in enumerate(self.page.items) if not backends_of(item)]}
        for name in names:
            plan[name] = [(i, item) for i, item in enumerate(self.page.items) if name in backends_of(item)]
        workers = {}
        for name, items in plan.items():
            if items:
                machinery = DEFAULT if name == DEFAULT.name else machineries.BACKENDS[name]
                codes = [item.code for _, item in items if isinstance(item, Block)]
                if name == DEFAULT.name:  # Keras (and TensorFlow) imported ahead only for pages that use them
                    uses = bool({"keras", "tensorflow"} & libraries_used(codes, self.root))
                    imports = ("keras",) if uses else ()
                else:  # a backend's worker imports Keras on that backend before any section runs
                    imports = machinery.imports
                worker = self.pool.take(machinery, self.root, imports, self.limits)
                workers[name] = (worker, items, "keras" in imports)
        results: dict[int, dict] = {}
        failures: list[tuple[int, str]] = []
        try:
            threads = []
            for name, (worker, items, uses_keras) in workers.items():
                if name == DEFAULT.name:
                    continue
                thread = threading.Thread(
                    target=self._run_guarded, args=(name, worker, items, uses_keras, results, failures), daemon=True
                )
                thread.start()
                threads.append(thread)
            if DEFAULT.name in workers:
                worker, items, uses_keras = workers[DEFAULT.name]
                self._run_guarded(DEFAULT.name, worker, items, uses_keras, results, failures)
                if failures:
                    self.cancel(workers)
            for thread in threads:
                thread.join()
        finally:
            for worker, _, _ in workers.values():
                worker.kill()
        if failures:
            raise min(failures, key=lambda failure: failure[0])[1]
        return [self._combine(index, item, results) for index, item in enumerate(self.page.items)]

    def _combine(self, index: int, item, results: dict) -> dict:
        names = backends_of(item)
        if not names:
            return results[(index, DEFAULT.name)]
        record = {"source": item.source, "backends": {name: results[(index, name)] for name in names}}
        if "claim" in item.options:
            record["claim"] = item.options["claim"]
        return record

    def _run_guarded(self, name, worker, items, uses_keras, results, failures) -> None:
        index, item = items[0]
        try:
            startup = time.monotonic() + STARTUP_LIMIT
            try:
                worker.wait_ready(startup)
            except WorkerFailed as error:
                hint = f"; {INSTALL_HINT}" if name != DEFAULT.name else ""
                raise PageFailed(f"{self._who(name)} could not start: {error}{hint}", item) from None
            deadline = time.monotonic() + self.limit
            request = {"op": "page", "root": str(self.root), "package": PACKAGE,
                       "uses_keras": uses_keras, "limit": self.output_limit + 1}
            self._call(name, worker, request, deadline, item)
            for index, item in items:  # `index` orders failures: the page's first one is reported
                results[(index, name)] = self._run_item(name, worker, item, deadline)
        except Exception as error:  # a bug here must still name the page, not hang it
            if not isinstance(error, PageFailed):
                error = PageFailed(f"{self._who(name)}: {type(error).__name__}: {error}", item)
            with self.lock:
                if not self.cancelled:
                    failures.append((index, error))
            worker.kill()

    def cancel(self, workers: dict) -> None:
        """Stop every worker of the page: one has failed, so the page fails."""
        with self.lock:
            self.cancelled = True
        for worker, _, _ in workers.values():
            worker.kill()

    def _call(self, name, worker, request, deadline, item) -> dict:
        doing = "evaluating this inline value" if isinstance(item, InlineValue) else "running this section"
        try:
            answer = worker.call(request, deadline, doing)
        except WorkerTimeout as timeout:
            at = f"; it was at {timeout.at}" if timeout.at else ""
            raise PageFailed(
                f"ran past the page's time limit of {self.limit:g} s{self._on(name)} "
                f"(set another with <!-- docexec timeout=SECONDS -->){at}", item
            ) from None
        except WorkerFailed as error:
            hint = ""
            if any(f"killed by {signal}" in str(error) for signal in ("SIGABRT", "SIGSEGV", "SIGBUS")):
                hint = (f"\n(if it ran out of memory: the page's memory limit is {self.limits['memory']} MB; "
                        f"set another with <!-- docexec memory=MB -->)")
            raise PageFailed(f"{self._who(name)} {error}{hint}", item) from None
        self._refuse_stopped_fork_server(worker, item)
        if "fatal" in answer:
            fatal = answer["fatal"]
            raise PageFailed(
                f"raised {clean(str(fatal.get('text')))} at {fatal.get('where')}{self._on(name)}; a section must not "
                f"exit or interrupt the build (it runs in a worker process, which the build stops)\n"
                f"{clean(str(fatal.get('details', '')))}",
                item,
            )
        if "protocol" in answer:
            raise PageFailed(f"{self._who(name)} refused a request: {answer['protocol']}", item)
        self._note_modules(answer.get("modules") or {}, name, item)
        return answer

    @staticmethod
    def _refuse_stopped_fork_server(worker, item) -> None:
        """Blame the section that stopped its fork server, not the next page, which would wait
        for a fork that never comes (issue 18)."""
        stopped = getattr(worker.zygote, "stopped", None)
        if stopped is not None and stopped():
            raise PageFailed(
                "the section stopped its fork server (SIGSTOP to its parent process), which starts every "
                "page's worker; a section must not signal processes it did not start", item
            )

    def _run_item(self, name: str, worker, item, deadline: float) -> dict:
        if isinstance(item, InlineValue):
            answer = self._call(name, worker, {"op": "value", "expression": item.expression}, deadline, item)
            if "raised" in answer:
                raise PageFailed(f"`{{py}} {item.expression}` raised {clean(answer['raised']['text'])}", item)
            self._check_inline(item, answer)
            text = clean(str(answer.get("value", "")))
            self._refuse_address(name, item, text, "the inline value")
            return {"expression": item.expression, "value": text}
        request = {"op": "block", "code": item.code, "path": item.section.path, "first_line": item.section.first_line}
        answer = self._call(name, worker, request, deadline, item)
        if "claim" in item.options and not answer.get("raised"):
            # asked only now, with a fresh nonce: code that ran in the block cannot answer for it
            truth = self._call(name, worker, {"op": "truth"}, deadline, item)
            answer = {**answer, **{key: truth[key] for key in ("truth", "checked", "value_type") if key in truth}}
        return self.decide(name, item, answer)

    # --------------------------------------------------------------------- decisions

    def _check_inline(self, item, answer: dict) -> None:
        """A `{py}` value gets a block's checks: no thread left running, no more than a block's
        output (issue 18: a 5 MB value made a 5 MB page)."""
        threads = answer.get("threads") or []
        if threads:
            raise PageFailed(
                f"the inline value left {len(threads)} thread(s) running ({', '.join(threads)}); "
                f"an inline value must not start threads", item
            )
        length = len(str(answer.get("value", "")).encode("utf-8", "surrogatepass"))
        if length > self.output_limit:
            raise PageFailed(
                f"the inline value is {length / 1000:.0f} kB, over the limit of {self.output_limit / 1000:g} kB; "
                f"show less, or raise the page's limit with <!-- docexec output-limit=KB -->", item
            )

    def decide(self, name: str, item: Block, answer: dict) -> dict:
        """The stored result of one block, or PageFailed: every rule is applied here, in the build."""
        on = self._on(name)
        expected = item.options.get("raises")
        raised = answer.get("raised")
        error = None
        if raised:
            if expected and raised.get("type") == expected:
                error = raised.get("text")
            elif raised.get("type") == "MemoryError":
                raise PageFailed(
                    f"the section ran out of memory at {raised.get('where')}{on}: the page's memory limit is "
                    f"{self.limits['memory']} MB (set another with <!-- docexec memory=MB -->)", item
                )
            else:
                extra = f" (the page expected {expected})" if expected else ""
                details = clean(str(raised.get("details", "")))
                raise PageFailed(f"failed at {raised.get('where')}{on}{extra}\n{details}", item)
        elif expected:
            raise PageFailed(f'the block is marked raises="{expected}" but raised nothing{on}', item)
        if answer.get("threads"):
            raise PageFailed(
                f"the section left {len(answer['threads'])} thread(s) running ({', '.join(answer['threads'])}){on}; "
                f"join every thread a section starts before it ends, so that what it prints lands in its own output",
                item,
            )
        record = clean_record({"output": answer.get("output") or "", "value": answer.get("value"),
                               "error": error, "figures": answer.get("figures") or []})
        total = size(record)
        if answer.get("truncated") or total > self.output_limit:
            shown = max(total, int(answer.get("size") or 0))
            raise PageFailed(
                f"the block produced {shown / 1000:.0f} kB of output{on}, over the limit of "
                f"{self.output_limit / 1000:g} kB a block; print less, or raise the page's limit with "
                f"<!-- docexec output-limit=KB -->",
                item,
            )
        at = answer.get("address_at")
        self._refuse_address(name, item, record["output"], f"printed by {at}" if at else "printed by the section")
        if record["value"] is not None:
            last = f"{item.section.path}:{item.section.first_line + len(item.code.splitlines()) - 1}"
            self._refuse_address(name, item, record["value"], f"the final expression at {last}")
        if "hidden" in item.options and (record["output"].strip() or record["value"] or record["figures"]):
            raise PageFailed(
                f"the block is hidden but printed or drew something{on}; show it, or keep set-up sections quiet", item
            )
        result = {"output": record["output"].splitlines(),
                  "value": None if record["value"] is None else record["value"].splitlines(),
                  "error": record["error"],
                  "figures": [svg.splitlines() for svg in record["figures"]]}
        if "claim" in item.options:
            result["scope"] = self._check_claim(name, item, answer, record)
        if name != DEFAULT.name:
            return result
        stored = {"source": item.source, **result}
        if "claim" in item.options:
            stored["claim"] = item.options["claim"]
        return stored

    def _check_claim(self, name, item, answer, record) -> dict | None:
        """The claim's scope (None: one example; else what docexec.checks.over() ran on), or
        PageFailed if its check is false, ran on nothing, or ended in something else."""
        sentence = item.options["claim"]
        last = item.section.first_line + len(item.code.splitlines()) - 1
        checked = answer.get("checked")
        if checked is not None:
            count, failed = int(checked["count"]), int(checked["failed"])
            if count == 0:
                raise PageFailed(
                    f"the check of claim \"{sentence}\" ran over no configurations{self._on(name)}; "
                    f"its check ends at {item.section.path}:{last}", item
                )
            if failed:
                listed = "\n".join(f"    {failure}" for failure in checked["failures"])
                raise PageFailed(
                    f"claim is false on {failed} of {count} configurations{self._on(name)}: \"{sentence}\"\n"
                    f"  its check ends at {item.section.path}:{last}; the first it failed on:\n{listed}", item
                )
            return {"count": count, "axes": checked["axes"]}
        if answer.get("truth") is None:
            raise PageFailed(
                f"the check of claim \"{sentence}\" must end in an expression that is True or False, or in "
                f"docexec.checks.over(...){self._on(name)}; it ended in {answer.get('value_type')}", item
            )
        if not answer["truth"]:
            raise PageFailed(
                f"claim is false{self._on(name)}: \"{sentence}\"\n"
                f"  its check ends at {item.section.path}:{last}\n{record['output']}", item
            )
        return None

    def _refuse_address(self, name, item, text: str, source: str) -> None:
        """`source` says what showed `text`: "printed by snippets/x.py:4", "the final expression at ..."."""
        line = find_address(text)
        if line is None:
            return
        raise PageFailed(
            f"the output shows a memory address{self._on(name)}, which changes on every run ({source}): {line!r}; "
            f"print something stable instead (a value, a name, a shape)", item
        )

    def _note_modules(self, loaded: dict, name: str, item) -> None:
        """Hash every project module the worker loaded; refuse one whose real file is outside the project."""
        root = self.root.resolve()
        for module, file in loaded.items():
            path = Path(file)
            try:
                relative = path.absolute().relative_to(self.root)
                path.resolve().relative_to(root)
            except ValueError:
                raise PageFailed(
                    f"the section imported {module} from {file}, outside the project ({self.root}){self._on(name)}; "
                    f"a page may only run the project's own code", item
                ) from None
            if relative.as_posix() not in self.modules and path.is_file():
                with self.lock:
                    self.modules[relative.as_posix()] = _sha256(path)

    # --------------------------------------------------------------------- naming

    def _on(self, name: str) -> str:
        """" on backend jax (JAX 0.10.2)" for a backend's failure, "" for the default worker's."""
        if name == DEFAULT.name:
            return ""
        if name not in self.phrases:  # versions come from package metadata: read once per page
            machinery = machineries.BACKENDS[name]
            self.phrases[name] = f" on backend {name} ({machinery.title(machinery.versions())})"
        return self.phrases[name]

    @staticmethod
    def _who(name: str) -> str:
        return "the worker" if name == DEFAULT.name else f"the {name} backend's worker"
