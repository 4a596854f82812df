"""A worker process: runs one page's sections for the build, on one backend. Forked by a fork
server (docexec/forkserver.py), or without one (DOCEXEC_FORK=0, off Linux) started as
`python -m docexec.worker REQUEST_FD RESULT_FD [MODULE ...]`. It answers one request line
(docexec/protocol.py) with one answer line; a section's prints go to its block's capture,
never to these pipes. The answers only describe what happened; the build decides.
"""

from __future__ import annotations

import faulthandler
import hashlib
import importlib
import importlib.abc
import importlib.machinery
import io
import json
import os
import sys
import threading
import traceback
from pathlib import Path

from .cleaning import ADDRESS
from .protocol import (
    BlockAnswer,
    BlockRequest,
    Fatal,
    Limits,
    PageRequest,
    PageStarted,
    Raised,
    Ready,
    Refused,
    Truth,
    ValueAnswer,
    ValueRequest,
    decode,
    encode,
    project_file,
)

_write = os.write  # bound now: a section may replace os.write, and the answer must still reach the build


class Capture(io.StringIO):
    """A block's output: notes where the first memory address was printed, and stops storing
    once past the limit (the build fails the block; it need not receive 10 GB first)."""

    def __init__(self, limit: int, root: str):
        super().__init__()
        self.limit, self.root, self.size, self.truncated, self.address_at = limit, root, 0, False, None

    def write(self, text):
        if not isinstance(text, str):  # let StringIO raise its usual TypeError
            return super().write(text)
        if self.size + len(text) > self.limit:
            self.truncated = True
            self.size += len(text)
            return len(text)
        if self.address_at is None and ADDRESS.search(text):
            self.address_at = _caller(self.root)
        self.size += len(text)
        return super().write(text)


def _caller(root: str) -> str | None:
    """file:line of the innermost frame that runs project code (not docexec, not a library)."""
    frame = sys._getframe(2)
    while frame is not None:
        relative = project_file(frame.f_code.co_filename, root)
        if relative is not None:
            return f"{relative}:{frame.f_lineno}"
        frame = frame.f_back
    return None


class Inputs:
    """Every project file this worker opened for reading (modules, data files), with the sha256
    of its bytes when opened (a file saved while the page runs then no longer matches, and the
    page runs again): an audit hook sees every open() and os.open() of Python code, not C's."""

    def __init__(self, root: Path):
        self.root, self.files, self.busy = str(root), {}, False

    def audit(self, event: str, args: tuple) -> None:
        if event != "open" or self.busy or not isinstance(args[0], str | bytes):
            return
        path, mode, flags = args
        reading = ("r" in mode or "+" in mode) if isinstance(mode, str) else flags & os.O_ACCMODE != os.O_WRONLY
        relative = project_file(os.path.abspath(os.fsdecode(path)), self.root) if reading else None
        if relative is None or relative in self.files:
            return
        self.busy = True  # the hook's own open() below must not call it again
        try:
            with open(path, "rb") as file:
                self.files[relative] = hashlib.sha256(file.read()).hexdigest()
        except OSError:  # a directory, a missing file: the open itself will say so
            pass
        finally:
            self.busy = False


class SourceOnly(importlib.machinery.SourceFileLoader):
    """Compiles a project module from its source, which the audit hook hashes as it is opened;
    never from a cached .pyc (a save within the same second leaves one looking current)."""

    def get_code(self, fullname):
        path = self.get_filename(fullname)
        return self.source_to_code(self.get_data(path), path)


class ProjectImports(importlib.abc.MetaPathFinder):
    """Imports of modules under the project root (not only the `snippets` package) are loaded
    from source (SourceOnly), so that the audit hook sees, and hashes, every one the page runs."""

    def __init__(self, root: Path):
        self.root = str(root)

    def find_spec(self, name, path, target=None):
        search = [self.root] if path is None else [entry for entry in path if project_file(entry, self.root)]
        spec = importlib.machinery.PathFinder.find_spec(name, search) if search else None
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return None  # not the project's, or a namespace package: the usual finders
        spec.loader = SourceOnly(name, spec.origin)
        return spec


class Session:
    def __init__(self, results_fd: int):
        self.results_fd = results_fd
        self.namespace = None
        self.root = None
        self.package = "snippets"
        self.inputs = Inputs(Path.cwd())
        self.threads: set = set()

    def send(self, message) -> None:
        data = encode(message)
        while data:
            data = data[_write(self.results_fd, data):]

    def handle(self, request):
        if isinstance(request, PageRequest):
            return self.start_page(request)
        if self.namespace is None:
            return Refused(f"{type(request).__name__} before a PageRequest")
        if isinstance(request, BlockRequest):
            return self.block(request)
        if isinstance(request, ValueRequest):
            return self.value(request)
        return Refused(f"{type(request).__name__} is not a request")

    def start_page(self, request: PageRequest) -> PageStarted:
        from .namespace import Namespace

        self.root, self.package = Path(request.root), request.package
        if request.timeout:  # where the page is if it hangs (the build reads it from the log, fd 2)
            faulthandler.dump_traceback_later(max(0.2, float(request.timeout) - 0.5), file=sys.__stderr__)
        self.inputs = Inputs(self.root)
        sys.addaudithook(self.inputs.audit)
        sys.meta_path.insert(0, ProjectImports(self.root))
        self.namespace = Namespace(self.root, self.package, bool(request.uses_keras),
                                   lambda: Capture(int(request.limit), str(self.root)))
        self.threads = set(threading.enumerate())
        return PageStarted(kernel_path())

    def block(self, request: BlockRequest) -> BlockAnswer:
        from .checks import MADE

        MADE.clear()  # the over() calls of this block only
        result = self.namespace.run(request.code, request.path, int(request.first_line))
        answer = BlockAnswer(result.output, result.value, result.figures, result.dark_figures)
        stream = result.stream
        if stream is not None:
            answer.truncated, answer.size, answer.address_at = stream.truncated, stream.size, stream.address_at
        if result.raised is not None:
            answer.raised = Raised.from_exception(result.raised, self.root, self.namespace.normalise)
        else:
            answer.truth = self.judge(result.raw_value)
        answer.threads = self.left_running()
        answer.modules = dict(self.inputs.files)
        return answer

    def left_running(self) -> list[str]:
        """Names of the threads started since the page began and still running."""
        return sorted(thread.name for thread in threading.enumerate()
                      if thread not in self.threads and thread.is_alive())

    @staticmethod
    def judge(value) -> Truth:
        """A block's final value, as a claim's check (the build reads it only for a claim): the
        truth of a bool, Python's or NumPy's, by class, not by name; or the configurations a
        docexec.checks.over() ran, never a Checked typed by hand or a subclass's (probe 19)."""
        from .checks import MADE, Checked, made_by_over

        numpy, what = sys.modules.get("numpy"), type(value).__name__
        truth, checked = None, Checked.to_json(value) if made_by_over(value) else None
        if isinstance(value, bool) or (numpy is not None and isinstance(value, numpy.bool_)):
            truth = bool(value)
        elif isinstance(value, Checked) and checked is None:
            what += " that over() did not return"
        if len(MADE) > 1 or (MADE and checked is None):  # probe 18: a false over() discarded, or one never run
            truth, checked, what = None, None, f"{what}, after {len(MADE)} over() calls (a check ends in one over())"
        return Truth(truth, checked, what)

    def value(self, request: ValueRequest) -> ValueAnswer:
        try:
            value = self.namespace.evaluate(request.expression)
            return ValueAnswer(value, modules=dict(self.inputs.files), threads=self.left_running())
        except Exception as error:
            return ValueAnswer(raised=Raised.from_exception(error, self.root))


def kernel_path() -> str | None:
    """The CPU kernels TensorFlow runs in this process, if it is imported (for the page's stamp:
    TF_ENABLE_ONEDNN_OPTS and the CPU choose them, and the CI matrix runs each)."""
    if "tensorflow" not in sys.modules:
        return None
    from tensorflow.python.util import _pywrap_util_port

    if not _pywrap_util_port.IsMklEnabled():
        return "Eigen"
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA")
    return f"oneDNN, ONEDNN_MAX_CPU_ISA={isa}" if isa else "oneDNN"


def serve(requests_fd: int, results_fd: int, session: Session) -> None:
    """Answer requests until the build closes the pipe (or kills this process)."""
    session.send(Ready(True))
    reader = os.fdopen(requests_fd, "rb", buffering=0)
    buffer = b""
    while True:
        while b"\n" not in buffer:
            chunk = reader.read(1 << 16)
            if not chunk:
                return  # the build closed the pipe: nothing more to do
            buffer += chunk
        line, _, buffer = buffer.partition(b"\n")
        try:
            try:
                request = decode(line)
            except (ValueError, TypeError) as error:
                answer = Refused(f"not a request ({error})")
            else:
                del line
                answer = session.handle(request)
        except BaseException as error:  # SystemExit, KeyboardInterrupt, GeneratorExit...: fatal
            session.send(Fatal(Raised.from_exception(error, session.root or Path.cwd())))
            os._exit(70)
        session.send(answer)


def prepare(preload: list[str]) -> str | None:
    """Import what every page of this backend needs; an error message if that fails."""
    try:
        import numpy  # noqa: F401  (every page imports and seeds it)

        from . import namespace  # noqa: F401  (imported once here, not once per page)

        for module in preload:
            importlib.import_module(module)
    except BaseException as error:  # a backend that is not installed or cannot start
        return "".join(traceback.format_exception_only(type(error), error)).strip()
    return None


def set_limits(limits: Limits, tmp: str = "") -> str | None:
    """The page's limits (pool.Limits) in this fresh worker; an error if its libraries already
    use more memory than the page may. RLIMIT_DATA, not RLIMIT_AS: TensorFlow, JAX and PyTorch
    reserve address space they never use (glibc reserves 64 MB per malloc arena), which
    RLIMIT_AS would count; RLIMIT_DATA counts the writable memory a process actually maps
    (heap, arrays, thread stacks). RLIMIT_FSIZE bounds each file it writes, its log included.
    TMPDIR is the page's own folder, which the build removes after the page."""
    if tmp:
        import tempfile

        os.environ["TMPDIR"] = tempfile.tempdir = tmp
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return None
    if limits.file_size:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size * 1024 * 1024,) * 2)
    if not limits.memory:
        return None
    megabytes = int(limits.memory)
    resource.setrlimit(resource.RLIMIT_DATA, (megabytes * 1024 * 1024,) * 2)
    try:  # a limit below what is mapped already fails every allocation, blamed on the section (probe 61)
        with open("/proc/self/status") as status:
            used = int(next(line.split()[1] for line in status if line.startswith("VmData:"))) // 1024
    except (OSError, StopIteration, ValueError):
        return None
    if used > megabytes * 0.8:
        return (f"it uses {used} MB before the page runs (its libraries), too close to the page's memory limit "
                f"of {megabytes} MB; set a larger one with <!-- docexec memory=MB -->")
    return None


def main(argv: list[str]) -> None:
    requests_fd, results_fd, preload = int(argv[0]), int(argv[1]), argv[2:]
    session = Session(results_fd)
    error = prepare(preload)
    if error:
        session.send(Ready(False, error))
        return
    # a spawned worker: limits after its imports, as a forked one's
    error = set_limits(Limits(**json.loads(os.environ.get("DOCEXEC_LIMITS", "{}"))))
    if error:
        session.send(Ready(False, error))
        return
    serve(requests_fd, results_fd, session)


if __name__ == "__main__":
    main(sys.argv[1:])
