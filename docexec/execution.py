"""Running one page (`run_page`, the one entry point) and deciding what each answer means.

Blocks without `backends=` and `{py}` values run in page order in one fresh worker with the
build's own environment; each backend a block names runs its blocks in a worker of its own,
in parallel. The worker only reports; the verdicts here (`decide`, `check_claim`,
`decide_value`) are pure functions of an answer, and fail the page naming the page, the
snippet file:line and, for a backend, the backend.
"""

from __future__ import annotations

import ast
import functools
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .backends import BACKENDS, DEFAULT, INSTALL_HINT, Backends, backends_of, page_backends, plan
from .cleaning import OUTPUT_LIMIT_KB, clean, find_address
from .errors import PageFailed, WorkerFailed, WorkerTimeout
from .model import Block, BlockRecord, BlockResult, InlineValue, ItemRecord, ValueRecord
from .pool import POOL, Limits
from .protocol import BlockAnswer, BlockRequest, Fatal, PageRequest, Refused, Truth, ValueAnswer, ValueRequest

# A page's default limits (<!-- docexec memory=MB processes=N --> sets others, README): a 3 GB
# array or a fork bomb is refused, with a message naming the block.
MEMORY_LIMIT_MB = 2048
PROCESS_LIMIT = 64
FILE_SIZE_LIMIT_MB = 100
DEFAULT_LIMITS = Limits(MEMORY_LIMIT_MB, PROCESS_LIMIT, FILE_SIZE_LIMIT_MB)

STARTUP_LIMIT = 300.0  # seconds a fork server may take to import its libraries (not counted in the page's limit)


def missing_backends(page, names: list[str], backends: Backends) -> PageFailed | None:
    missing = {name: backends[name].missing() for name in names if backends[name].missing()}
    if not missing:
        return None
    first = next(item for item in page.items if set(backends_of(item)) & missing.keys())
    parts = "; ".join(f"{name} needs {', '.join(libraries)}" for name, libraries in missing.items())
    return PageFailed("backends_missing", first, parts=parts, hint=INSTALL_HINT)


PACKAGE = "snippets"  # the project's package: its modules are read to tell which libraries a page uses


@functools.lru_cache(maxsize=4096)
def imports(code: str, package: str = "") -> frozenset[str]:
    """The absolute dotted names `code` imports (`from a import b`: a and a.b), read, not run."""
    try:
        tree = ast.parse(code)
    except SyntaxError:  # running the code reports it, with its file and line
        return frozenset()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            base = ".".join(parts + ([node.module] if node.module else []))
            names |= {base, *(f"{base}.{alias.name}" for alias in node.names)}
    return frozenset(names)


def libraries_used(codes: list[str], root: Path) -> set[str]:
    """Top-level packages `codes` import, directly or through the project's modules they reach,
    transitively (read, not imported: a worker must know before the code runs whether to import
    and seed Keras)."""
    pending, seen, libraries = [(code, "") for code in codes], set(), set()
    while pending:
        for name in imports(*pending.pop()):
            parts = name.split(".")
            libraries.add(parts[0])
            for depth in range(1, len(parts) + 1) if parts[0] == PACKAGE else ():
                module = ".".join(parts[:depth])
                path = root.joinpath(*parts[:depth])
                file = next((f for f in (path.with_suffix(".py"), path / "__init__.py") if f.is_file()), None)
                if file and module not in seen:
                    seen.add(module)
                    package = module if file.name == "__init__.py" else module.rpartition(".")[0]
                    pending.append((file.read_text(encoding="utf-8"), package))
    return libraries


def uses_keras(codes: list[str], root: Path) -> bool:
    """Whether `codes` import Keras or TensorFlow (directly, or through the project's modules
    they import): their worker imports Keras ahead and seeds it."""
    return bool({"keras", "tensorflow"} & libraries_used(codes, root))


def prestart(root: Path) -> None:
    """When every page will run (refresh and check modes), start the default fork server at
    once, so that it imports Keras while MkDocs reads its configuration and the first pages,
    for projects whose snippets use Keras."""
    if root in POOL.prestarted:
        return
    POOL.prestarted.add(root)
    files = sorted((root / PACKAGE).rglob("*.py")) if (root / PACKAGE).is_dir() else []
    if uses_keras([file.read_text(encoding="utf-8", errors="replace") for file in files], root):
        POOL.server(DEFAULT, ("keras",))


# --------------------------------------------------------------------- verdicts (pure)


def decide(item: Block, answer: BlockAnswer, output_limit: int, on: str = "", limits: Limits = DEFAULT_LIMITS
           ) -> BlockResult:
    """What one block's answer means: its result, or PageFailed. Every rule is applied here,
    in the build; `on` names the backend in messages (" on backend jax (JAX 0.10.2)")."""
    expected = item.options.raises
    raised = answer.raised
    error = None
    if raised:
        if expected and raised.type == expected:
            error = raised.text
        elif raised.type == "MemoryError":
            raise PageFailed("out_of_memory", item, on, where=raised.where, limit=f"{limits.memory:g}")
        elif "File too large" in raised.text:
            raise PageFailed("file_too_large", item, on, where=raised.where, limit=limits.file_size)
        else:
            raise PageFailed("code_failed", item, on, where=raised.where, details=clean(str(raised.details)),
                             expected=f" (the page expected {expected})" if expected else "")
    elif expected:
        raise PageFailed("raised_nothing", item, on, expected=expected)
    if answer.threads:
        raise PageFailed("threads_left", item, on, count=len(answer.threads), names=", ".join(answer.threads))
    output, value = clean(answer.output or ""), None if answer.value is None else clean(answer.value)
    error = None if error is None else clean(error)
    figures, dark = [clean(svg) for svg in answer.figures], [clean(svg) for svg in answer.dark_figures]
    total = sum(len(part.encode("utf-8", "surrogatepass")) for part in (output, value or "", error or "", *figures))
    if answer.truncated or total > output_limit:
        raise PageFailed("too_much_output", item, on, kb=max(total, int(answer.size or 0)) / 1000,
                         limit_kb=output_limit / 1000)
    at = answer.address_at
    refuse_address(item, output, f"printed by {at}" if at else "printed by the section", on)
    if value is not None:
        refuse_address(item, value, f"the final expression at {item.last_line}", on)
    if item.options.hidden and (output.strip() or value or figures):
        raise PageFailed("hidden_shows", item, on)
    claim = item.options.claim is not None
    scope = check_claim(item, answer.truth or Truth(), output, on) if claim else None
    return BlockResult(output.splitlines(), None if value is None else value.splitlines(), error,
                       [svg.splitlines() for svg in figures], scope, claim, [svg.splitlines() for svg in dark])


def check_claim(item: Block, answer: Truth, output: str, on: str = "") -> dict | None:
    """The claim's scope (None: one example; else what docexec.checks.over() ran on), or
    PageFailed if its check is false, ran on nothing, or ended in something else."""
    checked = answer.checked
    calls = _over_calls(item.code) if checked is not None else 0
    if calls > 1:  # `over(A) or over(B)` reports A's scope (probe 18)
        raise PageFailed("claim_not_bool", item, on, sentence=item.options.claim,
                         value_type=f"an expression with {calls} over() calls (a check ends in one)")
    if checked is not None:
        count, failed = int(checked["count"]), int(checked["failed"])
        if count == 0:
            raise PageFailed("claim_ran_on_nothing", item, on, sentence=item.options.claim, last_line=item.last_line)
        if failed:
            raise PageFailed("claim_false_on", item, on, sentence=item.options.claim, failed=failed, count=count,
                             last_line=item.last_line,
                             listed="\n".join(f"    {failure}" for failure in checked["failures"]))
        return {"count": count, "axes": checked["axes"]}
    if answer.truth is None:
        raise PageFailed("claim_not_bool", item, on, sentence=item.options.claim, value_type=answer.value_type)
    if not answer.truth:
        raise PageFailed("claim_false", item, on, sentence=item.options.claim, last_line=item.last_line,
                         output=output)
    return None


def _over_calls(code: str) -> int:
    """Calls of a function named `over` in the final statement of `code`."""
    try:
        final = ast.parse(code).body[-1]
    except (SyntaxError, IndexError):
        return 0
    return sum(isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "over"
               for node in ast.walk(final))


def refuse_address(item, text: str, source: str, on: str = "") -> None:
    """`source` says what showed `text`: "printed by snippets/x.py:4", "the final expression at ..."."""
    line = find_address(text)
    if line is not None:
        raise PageFailed("address", item, on, line=line, source=source)


def decide_value(item: InlineValue, answer: ValueAnswer, on: str = "", output_limit: int = OUTPUT_LIMIT_KB * 1000
                 ) -> ValueRecord:
    """A `{py}` value gets a block's checks: no thread left running, no more than a block's
    output (issue 18: a 5 MB value made a 5 MB page), no memory address."""
    if answer.raised is not None:
        raise PageFailed("inline_raised", item, expression=item.expression, text=clean(answer.raised.text))
    if answer.threads:
        raise PageFailed("inline_threads", item, count=len(answer.threads), names=", ".join(answer.threads))
    length = len(str(answer.value or "").encode("utf-8", "surrogatepass"))
    if length > output_limit:
        raise PageFailed("inline_too_big", item, kb=length / 1000, limit_kb=output_limit / 1000)
    text = clean(str(answer.value or ""))
    refuse_address(item, text, "the inline value", on)
    return ValueRecord(item.expression, text)


def combine(item, results: dict[str, object]) -> ItemRecord:
    """An item's stored result, from what each worker that ran it gave (backend name -> result)."""
    if isinstance(item, InlineValue):
        return results[DEFAULT.name]
    names = backends_of(item)
    if not names:
        return BlockRecord(item.source, results[DEFAULT.name], claim=item.options.claim)
    return BlockRecord(item.source, backends={name: results[name] for name in names}, claim=item.options.claim)


@dataclass
class PageOutcome:
    """What one run of a page gave, for its record: each item's result, the project files the run
    read (file -> sha256 of what it read), and the default worker's TensorFlow kernel path."""

    results: list[ItemRecord]
    modules: dict[str, str]
    kernels: str | None = None


def run_page(root: Path, page, timeout: float, backends: Backends = BACKENDS, pool=POOL) -> PageOutcome:
    """The one entry point of execution: `page` run in fresh workers, the default one on this
    thread and one per other backend on threads of their own; raises the page's first failure
    (PageFailed), the others being echoes of it once its workers are killed."""
    run = PageRun(root, page, timeout, backends, pool)
    return PageOutcome(run.run(), run.modules, run.kernels)


class PageRun:
    """One execution of one page (run_page)."""

    def __init__(self, root: Path, page, limit: float, backends: Backends = BACKENDS, pool=POOL):
        self.root, self.page, self.limit, self.pool, self.backends = root, page, limit, pool, backends
        self.output_limit = int((page.output_limit or OUTPUT_LIMIT_KB) * 1000)
        self.limits = Limits(int(page.memory or MEMORY_LIMIT_MB), int(page.processes or PROCESS_LIMIT),
                             int(page.file_size or FILE_SIZE_LIMIT_MB))
        self.modules: dict[str, str] = {}  # project file the run read (relative) -> sha256 of what it read
        self.kernels: str | None = None  # the default worker's TensorFlow kernel path, if it imported TensorFlow
        self.lock = threading.Lock()
        self.results: dict[int, dict] = {}  # item index -> backend name -> result
        self.failures: list[tuple[int, PageFailed]] = []  # (item index, failure): the first item's is raised
        self.cancelled = False  # set once the default worker failed: the others are killed, their failures are echoes

    def run(self) -> list[ItemRecord]:
        error = missing_backends(self.page, page_backends(self.page, self.backends), self.backends)
        if error:
            raise error
        workers = {}
        for name, items in plan(self.page, self.backends).items():
            if not items:
                continue
            backend = DEFAULT if name == DEFAULT.name else self.backends[name]
            # Keras imported ahead by the default worker only for pages that use it; a backend's always
            codes = [item.code for _, item in items if isinstance(item, Block)]
            imports = backend.imports if name != DEFAULT.name else ("keras",) if uses_keras(codes, self.root) else ()
            workers[name] = (self.pool.take(backend, self.root, imports, self.limits), items, "keras" in imports)
        threads = [threading.Thread(target=self._run_guarded, args=(name, *work), daemon=True)
                   for name, work in workers.items() if name != DEFAULT.name]
        try:
            for thread in threads:
                thread.start()
            if DEFAULT.name in workers:
                self._run_guarded(DEFAULT.name, *workers[DEFAULT.name])
                with self.lock:
                    self.cancelled = bool(self.failures)
                for worker, _, _ in workers.values() if self.cancelled else ():
                    worker.kill()
            for thread in threads:
                thread.join()
        finally:
            for worker, _, _ in workers.values():
                worker.kill()
        if self.failures:
            raise min(self.failures, key=lambda failure: failure[0])[1]
        return [combine(item, self.results.get(index, {})) for index, item in enumerate(self.page.items)]

    def _run_guarded(self, name, worker, items, uses_keras) -> None:
        index, item = items[0]
        try:
            try:
                worker.wait_ready(time.monotonic() + STARTUP_LIMIT)
            except WorkerFailed as error:
                hint = f"; {INSTALL_HINT}" if name != DEFAULT.name else ""
                raise PageFailed("worker_start", item, who=self._who(name), error=error, hint=hint) from None
            deadline = time.monotonic() + self.limit
            request = PageRequest(str(self.root), PACKAGE, uses_keras, self.output_limit + 1, self.limit)
            started = self._call(name, worker, request, deadline, item)
            if name == DEFAULT.name:
                self.kernels = getattr(started, "kernels", None)
            for index, item in items:  # `index` orders failures: the page's first one is reported
                result = self._run_item(name, worker, item, deadline)
                with self.lock:
                    self.results.setdefault(index, {})[name] = result
        except Exception as error:  # a bug here must still name the page, not hang it
            if not isinstance(error, PageFailed):
                error = PageFailed("engine_bug", item, who=self._who(name), type=type(error).__name__, error=error)
            with self.lock:
                if not self.cancelled:
                    self.failures.append((index, error))
            worker.kill()

    def _call(self, name, worker, request, deadline, item):
        doing = "evaluating this inline value" if isinstance(item, InlineValue) else "running this section"
        try:
            answer = worker.call(request, deadline, doing)
        except WorkerTimeout as timeout:
            raise PageFailed("timeout", item, self._on(name), limit=self.limit,
                             at=f"; it was at {timeout.at}" if timeout.at else "") from None
        except WorkerFailed as error:
            hint = ""
            if any(f"killed by {signal}" in str(error) for signal in ("SIGABRT", "SIGSEGV", "SIGBUS")):
                hint = (f"\n(if it ran out of memory: the page's memory limit is {self.limits.memory} MB; "
                        f"set another with <!-- docexec memory=MB -->)")
            raise PageFailed("worker_died", item, who=self._who(name), error=error, hint=hint) from None
        if isinstance(answer, Fatal):
            raised = answer.raised
            raise PageFailed("exited", item, self._on(name), text=clean(str(raised.text)), where=raised.where,
                             details=clean(str(raised.details or "")))
        if isinstance(answer, Refused):
            raise PageFailed("refused", item, who=self._who(name), reason=answer.reason)
        self._note_modules(getattr(answer, "modules", None) or {})
        return answer

    def _run_item(self, name: str, worker, item, deadline: float):
        if isinstance(item, InlineValue):
            answer = self._call(name, worker, ValueRequest(item.expression), deadline, item)
            return decide_value(item, answer, self._on(name), self.output_limit)
        request = BlockRequest(item.code, item.section.path, item.section.first_line)
        answer = self._call(name, worker, request, deadline, item)
        return decide(item, answer, self.output_limit, self._on(name), self.limits)

    def _note_modules(self, read: dict[str, str]) -> None:
        """The project files a worker read, with the digests it took as it read them. Two workers
        that read one file with different contents (saved between them) leave a digest no file
        has, so the page runs again at the next build."""
        with self.lock:
            for file, digest in read.items():
                if self.modules.setdefault(file, digest) != digest:
                    self.modules[file] = "changed while the page ran"

    # --------------------------------------------------------------------- naming

    def _on(self, name: str) -> str:
        """" on backend jax (JAX 0.10.2)" for a backend's failure, "" for the default worker's."""
        backend = self.backends[name] if name != DEFAULT.name else None
        return f" on backend {name} ({backend.title(backend.versions())})" if backend else ""

    @staticmethod
    def _who(name: str) -> str:
        return "the worker" if name == DEFAULT.name else f"the {name} backend's worker"
