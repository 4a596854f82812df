"""A worker process: runs one page's sections for the build, on one backend.

    python -m docexec.worker --zygote CONTROL_FD [MODULE ...]   (how the build starts it)
    python -m docexec.worker REQUEST_FD RESULT_FD [MODULE ...]   (one worker, no fork server)

The build starts one fork server per backend, with the backend's environment; it imports
NumPy and the MODULEs (e.g. keras) once and forks a fresh worker per page (see `zygote`).
A worker has its own session, the project root as working directory, stdin from /dev/null
and stdout and stderr to a log the build reads when the worker dies. It says it is ready,
then answers one JSON request per line read from REQUEST_FD with one JSON line written to
RESULT_FD: the dataclasses of docexec/protocol.py (PageRequest, BlockRequest, ValueRequest;
Ready, PageStarted, BlockAnswer, ValueAnswer, Fatal, Refused).

A section's prints go to the capture of its block, never to these pipes. The answers only
describe what happened (output, the exception and where, the claim's value, threads left
running, project modules loaded); the build process decides what each means, kills the
whole process group after the page, and starts the next page in a fresh worker.
"""

from __future__ import annotations

import faulthandler
import importlib
import importlib.abc
import importlib.machinery
import io
import json
import os
import signal
import sys
import threading
import traceback
from pathlib import Path

from .protocol import (
    BlockAnswer,
    BlockRequest,
    Fatal,
    PageRequest,
    PageStarted,
    Raised,
    Ready,
    Refused,
    ValueAnswer,
    ValueRequest,
    decode,
    encode,
    project_file,
    under,
)

# Bound now: a section may replace json.dumps, os.write or builtins, and the answer must
# still reach the build (or the build must see garbage and say so).
_dumps, _loads, _write = json.dumps, json.loads, os.write
_ADDRESS = None  # set in main(), from docexec.cleaning


class Capture(io.StringIO):
    """A block's output: notes where the first memory address was printed, and stops storing
    once past the limit (the build fails the block; it need not receive 10 GB first)."""

    limit = 10**9
    root = ""

    def __init__(self):
        super().__init__()
        self.size, self.truncated, self.address_at = 0, False, None

    def write(self, text):
        if not isinstance(text, str):  # let StringIO raise its usual TypeError
            return super().write(text)
        if self.size + len(text) > self.limit:
            self.truncated = True
            self.size += len(text)
            return len(text)
        if self.address_at is None and _ADDRESS.search(text):
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


class ProjectImports(importlib.abc.MetaPathFinder):
    """Imports of the project's package must find files inside the project: a module that is
    a symbolic link to a file elsewhere is refused, as an include of it is."""

    def __init__(self, root: Path, package: str):
        self.root, self.package = root, package

    def find_spec(self, name, path, target=None):
        if name != self.package and not name.startswith(self.package + "."):
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or not spec.origin or spec.origin in ("built-in", "frozen"):
            return spec
        origin = Path(spec.origin)
        real = origin.resolve()
        own = self.root / self.package
        if not under(origin.absolute(), own) or not under(real, self.root.resolve()):
            shown = _shown(origin, self.root)
            raise ImportError(
                f"refusing to import {name}: {shown} is "
                + (f"a link to {real}, " if real != origin.absolute() else "")
                + f"outside the project ({self.root}); a page may only run the project's own code"
            )
        return spec


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.absolute().relative_to(root))
    except ValueError:
        return str(path)


class Session:
    def __init__(self, results_fd: int):
        self.results_fd = results_fd
        self.namespace = None
        self.root = None
        self.package = "snippets"
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
        sys.meta_path.insert(0, ProjectImports(self.root, self.package))
        Capture.limit, Capture.root = int(request.limit), str(self.root)
        Namespace.stream_class = Capture
        self.namespace = Namespace(self.root, self.package, bool(request.uses_keras))
        self.threads = set(threading.enumerate())
        return PageStarted()

    def block(self, request: BlockRequest) -> BlockAnswer:
        result = self.namespace.run(request.code, request.path, int(request.first_line))
        answer = BlockAnswer(result.output, result.value, result.figures)
        stream = result.stream
        if stream is not None:
            answer.truncated, answer.size, answer.address_at = stream.truncated, stream.size, stream.address_at
        if result.raised is not None:
            answer.raised = Raised.from_exception(result.raised, self.root, self.namespace.normalise)
        value = result.raw_value
        if result.raised is None:
            answer.truth, answer.checked = judgeable(value)
        answer.value_type = type(value).__name__
        answer.threads = sorted(
            thread.name for thread in threading.enumerate() if thread not in self.threads and thread.is_alive()
        )
        answer.modules = self.loaded()
        return answer

    def value(self, request: ValueRequest) -> ValueAnswer:
        try:
            return ValueAnswer(self.namespace.evaluate(request.expression), modules=self.loaded())
        except Exception as error:
            return ValueAnswer(raised=Raised.from_exception(error, self.root))

    def loaded(self) -> dict[str, str]:
        """The project's modules this process has imported, static or dynamic: the build
        hashes them into the page's freeze key."""
        found = {}
        for name, module in list(sys.modules.items()):
            if name == self.package or name.startswith(self.package + "."):
                file = getattr(module, "__file__", None)
                if file:
                    found[name] = file
        return found


def judgeable(value) -> tuple[bool | None, dict | None]:
    """What the build needs to judge a claim's final value: (the truth of a bool, Python's or
    NumPy's, by class, not by name; the configurations a docexec.checks.over() ran)."""
    from .checks import Checked

    numpy = sys.modules.get("numpy")
    if isinstance(value, Checked):
        return None, value.to_json()
    if isinstance(value, bool) or (numpy is not None and isinstance(value, numpy.bool_)):
        return bool(value), None
    return None, None


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
                answer = session.handle(request)
        except BaseException as error:  # SystemExit, KeyboardInterrupt, GeneratorExit...: fatal
            session.send(Fatal(Raised.from_exception(error, session.root or Path.cwd())))
            os._exit(70)
        session.send(answer)


def prepare(preload: list[str]) -> str | None:
    """Import what every page of this backend needs; an error message if that fails."""
    global _ADDRESS
    # A hung page: the build sends SIGUSR1 and reads where every thread was from the log (fd 2).
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        from . import namespace  # noqa: F401  (imported once here, not once per page)
        from .cleaning import ADDRESS

        _ADDRESS = ADDRESS
        import numpy  # noqa: F401  (every page imports and seeds it)

        for module in preload:
            importlib.import_module(module)
    except BaseException as error:  # a backend that is not installed or cannot start
        return "".join(traceback.format_exception_only(type(error), error)).strip()
    return None


def die_with_parent() -> None:
    """Linux: SIGKILL this process when its parent dies, so that a build killed without a
    chance to clean up (SIGKILL, SIGTERM) leaves no fork server or worker behind."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # other systems: the build's atexit and the closed pipes remain
        pass


def zygote(control_fd: int, preload: list[str]) -> None:
    """The fork server of one backend: imports NumPy and `preload` once, then forks a
    fresh worker for each page. It never runs a page's code itself, so every fork starts
    from the same clean state, and a fork costs milliseconds where importing TensorFlow
    costs seconds.

    Over the control socket (SOCK_SEQPACKET, one JSON message per packet) it receives
    {"root": ...} with three descriptors (requests, results, log) and answers
    {"forked": pid}; it reaps its children and reports {"exited": pid, "status": code}
    (negative: killed by that signal), since the build is not their parent.
    """
    import select
    import socket

    control = socket.socket(fileno=control_fd)
    die_with_parent()

    def tell(message: dict) -> None:
        control.send(_dumps(message).encode())

    error = prepare(preload)
    if error:
        tell({"ready": False, "error": error})
        return
    tell({"ready": True, "pid": os.getpid()})
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    while True:
        try:
            ready, _, _ = select.select([control, wake_read], [], [])
        except InterruptedError:  # pragma: no cover - select retries on EINTR since 3.5
            continue
        if wake_read in ready:
            os.read(wake_read, 4096)
            while True:
                try:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
                tell({"exited": pid, "status": os.waitstatus_to_exitcode(status)})
        if control in ready:
            message, fds, _, _ = socket.recv_fds(control, 1 << 16, 3)
            if not message:
                return  # the build has gone: so does its fork server
            request = _loads(message)
            pid = os.fork()
            if pid == 0:
                try:
                    signal.set_wakeup_fd(-1)
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    for fd in (control.fileno(), wake_read, wake_write):
                        os.close(fd)
                    child(request["root"], *fds)
                finally:
                    os._exit(0)
            for fd in fds:
                os.close(fd)
            tell({"forked": pid})


def child(root: str, requests_fd: int, results_fd: int, log_fd: int) -> None:
    """A fresh worker, just forked: its own session (the build kills the whole group), the
    project root as working directory and first on the path, output to its log."""
    os.setsid()
    die_with_parent()
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    for fd in (null, log_fd):
        os.close(fd)
    os.chdir(root)
    sys.path.insert(0, root)
    serve(requests_fd, results_fd, Session(results_fd))


def main(argv: list[str]) -> None:
    if argv[0] == "--zygote":
        zygote(int(argv[1]), argv[2:])
        return
    requests_fd, results_fd, preload = int(argv[0]), int(argv[1]), argv[2:]
    session = Session(results_fd)
    error = prepare(preload)
    if error:
        session.send(Ready(False, error))
        return
    serve(requests_fd, results_fd, session)


if __name__ == "__main__":
    main(sys.argv[1:])
