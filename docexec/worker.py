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
whole process group after the page, and starts the next page in a fresh worker. The fork
server sets each worker's memory limit, counts its page's processes, and, a child subreaper,
kills whatever a page left behind.
"""

from __future__ import annotations

import _thread
import faulthandler
import hashlib
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
    Truth,
    ValueAnswer,
    ValueRequest,
    decode,
    encode,
    project_file,
)

# Bound now: a section may replace json.dumps, os.write or builtins, and the answer must
# still reach the build (or the build must see garbage and say so).
_dumps, _loads, _write = json.dumps, json.loads, os.write
CANNOT_ANSWER = 71  # a forked worker's exit status when it could not send an answer
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


class Inputs:
    """Every project file this worker opened for reading (modules, data files), each with the
    sha256 of its bytes when opened: the page's inputs (freeze.modules_current). Hashed as
    read, not when the build gets the answer, so a file saved while the page runs no longer
    matches and the page runs again at the next build. An audit hook sees every open() and
    os.open() of Python code; a library's own C code reading a file is not seen."""

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


_LOW_LEVEL = [0]  # threads started with _thread.start_new_thread and still running


def _count_low_level_threads() -> int:
    """Wrap _thread.start_new_thread (threading keeps its own reference, so its threads are
    not counted twice): the new thread is counted before it starts (_thread._count() only
    counts it once it has begun running, too late for a block that ends at once)."""
    if getattr(_thread.start_new_thread, "__wrapped__", None) is None:
        original, lock = _thread.start_new_thread, _thread.allocate_lock()

        def start_new_thread(function, args, kwargs=None):
            def run(*args, **kwargs):
                try:
                    return function(*args, **kwargs)
                finally:
                    with lock:
                        _LOW_LEVEL[0] -= 1

            with lock:
                _LOW_LEVEL[0] += 1
            try:
                return original(run, args, kwargs or {})
            except BaseException:
                with lock:
                    _LOW_LEVEL[0] -= 1
                raise

        start_new_thread.__wrapped__ = original
        _thread.start_new_thread = _thread.start_new = start_new_thread
    return _LOW_LEVEL[0]




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
        if request.timeout:  # where the page is if it hangs, even if it ignores SIGUSR1 (probe 57)
            faulthandler.dump_traceback_later(max(0.2, float(request.timeout) - 0.5), file=sys.__stderr__)
        self.inputs = Inputs(self.root)
        sys.addaudithook(self.inputs.audit)
        sys.meta_path.insert(0, ProjectImports(self.root))
        Capture.limit, Capture.root = int(request.limit), str(self.root)
        Namespace.stream_class = Capture
        self.namespace = Namespace(self.root, self.package, bool(request.uses_keras))
        self.threads = set(threading.enumerate())
        _count_low_level_threads()
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
        """Names of the threads started since the page began and still running. Threads
        started with _thread.start_new_thread are in no list of `threading`: they are counted
        (issue 18: one printed into the next block's output)."""
        named = [thread for thread in threading.enumerate() if thread not in self.threads and thread.is_alive()]
        low_level = _LOW_LEVEL[0] - len([t for t in named if isinstance(t, threading._DummyThread)])
        return sorted(thread.name for thread in named) + ["started with _thread"] * max(0, low_level)

    @staticmethod
    def judge(value) -> Truth:
        """A block's final value, as a claim's check (the build reads it only for a claim)."""
        truth, checked = judgeable(value)
        from .checks import MADE, Checked

        what = type(value).__name__
        if isinstance(value, Checked) and checked is None:
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


def judgeable(value) -> tuple[bool | None, dict | None]:
    """What the build needs to judge a claim's final value: (the truth of a bool, Python's or
    NumPy's, by class, not by name; the configurations a docexec.checks.over() ran)."""
    from .checks import Checked, made_by_over

    numpy = sys.modules.get("numpy")
    if made_by_over(value):  # not a Checked typed by hand, nor a subclass's own to_json (probe 19)
        return None, Checked.to_json(value)
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
                del line
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


def _prctl(option: int, value: int) -> bool:
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):  # not Linux: the build's atexit and the closed pipes remain
        return False


def die_with_parent(how: int = signal.SIGKILL) -> None:
    """Linux: send `how` to this process when its parent dies, so that a build killed without
    a chance to clean up (SIGKILL) leaves no worker behind. The signal is not inherited by
    what a section starts: the fork server, a subreaper, kills those (see `end_descendants`)."""
    _prctl(1, how)  # PR_SET_PDEATHSIG


def children_of(parent: int) -> list[int]:
    """Live children of `parent`, read from /proc (no psutil in a worker): from each of its
    threads' `children` list where the kernel has them (a few reads), else by a scan of
    every process (milliseconds per hundred processes on a busy machine)."""
    try:
        tasks = os.listdir(f"/proc/{parent}/task")
        found = []
        for task in tasks:
            with open(f"/proc/{parent}/task/{task}/children", "rb") as children:
                found += [int(pid) for pid in children.read().split()]
        return found
    except FileNotFoundError:  # the process is gone, or no CONFIG_PROC_CHILDREN: scan
        if not os.path.exists(f"/proc/{parent}"):
            return []
    except OSError:
        return []
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rpartition(b")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == parent and fields[0] != b"Z":
            found.append(int(entry))
    return found


def descendants_of(root: int, table: dict[int, int] | None = None) -> list[int]:
    """Every live descendant of `root` (not `root` itself)."""
    table = table if table is not None else process_table()
    below: dict[int, list[int]] = {}
    for pid, parent in table.items():
        below.setdefault(parent, []).append(pid)
    found, pending = [], [root]
    while pending:
        for child in below.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def process_table() -> dict[int, int]:
    """pid -> parent pid of every live (not zombie) process."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    fields = stat.read().rpartition(b")")[2].split()
            except OSError:
                continue
            if fields[0] != b"Z":
                table[int(entry)] = int(fields[1])
    return table


def _kill_tree(pid: int) -> None:
    """SIGKILL `pid`, its process group if it leads one, and everything below it."""
    for target in [pid, *descendants_of(pid)]:
        for kill in (os.killpg, os.kill):
            try:
                kill(target, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def end_descendants(reap: bool = True) -> None:
    """Kill every process below this fork server and reap it. The fork server is a child
    subreaper: a process a section double-forked (its parent gone) is re-parented here, not to
    init, so it is found (issue 18: `sleep 303` outlived the build)."""
    for _ in range(1000):
        children = children_of(os.getpid())
        if not children:
            break
        for leftover in children:
            _kill_tree(leftover)
        if reap:
            try:
                os.waitpid(-1, 0)
            except ChildProcessError:
                break


class ProcessWatch:
    """A page's process-count limit, watched by the fork server (RLIMIT_NPROC counts all of a
    user's processes, and root is exempt from it: it cannot be a per-page limit)."""

    def __init__(self):
        self.processes: dict[int, int] = {}  # worker pid -> processes its page may have at once

    def over(self) -> list[tuple[int, int]]:
        """(worker, processes it has) for every page over its limit; the processes of a page are
        its worker, everything below it, and what was re-parented to this fork server. Walks
        only those trees, child lists first (a scan of every process cost 27 ms a time)."""
        if not self.processes:
            return []
        orphans = [pid for pid in children_of(os.getpid()) if pid not in self.processes]
        stray = sum(_tree_size(pid) for pid in orphans)
        found = []
        for worker, limit in self.processes.items():
            count = _tree_size(worker) + (stray if len(self.processes) == 1 else 0)
            if count > limit:
                found.append((worker, count))
        return found


def _tree_size(root: int, most: int = 100_000) -> int:
    """How many live processes `root` and its descendants are."""
    count, pending = 0, [root]
    while pending and count < most:
        pid = pending.pop()
        count += 1
        pending += children_of(pid)
    return count


def zygote(control_fd: int, preload: list[str]) -> None:
    """The fork server of one backend: imports NumPy and `preload` once, then forks a
    fresh worker for each page. It never runs a page's code itself, so every fork starts
    from the same clean state, and a fork costs milliseconds where importing TensorFlow
    costs seconds.

    Over the control socket (SOCK_SEQPACKET, one JSON message per packet) it receives
    {"root": ..., "memory": MB, "processes": N} with three descriptors (requests, results,
    log) and answers {"forked": pid}; it reaps its children and reports {"exited": pid,
    "status": code} (negative: killed by that signal), since the build is not their parent,
    and {"over": pid, "processes": n} before it kills a page that has more processes than
    its limit.

    It is a child subreaper: whatever a page's code starts, double-forked or not, stays
    below it, and once no worker is running it kills every process left. When the build goes
    (the control socket closes, or the parent-death signal SIGTERM arrives: the build was
    killed), it kills every process below it before it exits.
    """
    import select
    import socket

    control = socket.socket(fileno=control_fd)
    _prctl(36, 1)  # PR_SET_CHILD_SUBREAPER

    def leave(*_):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, leave)
    die_with_parent(signal.SIGTERM)
    if os.getppid() == 1:  # the build died before the line above
        return

    def tell(message: dict) -> None:
        control.send(_dumps(message).encode())

    error = prepare(preload)
    if error:
        tell({"ready": False, "error": error})
        return
    try:
        _serve_forks(control, tell, select, socket)
    finally:
        # The build's death brings both the closed socket and SIGTERM: the second must not
        # interrupt the clean-up the first started.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        end_descendants()


def _serve_forks(control, tell, select, socket) -> None:
    tell({"ready": True, "pid": os.getpid()})
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    watch = ProcessWatch()
    while True:
        try:  # while a page runs, count its processes five times a second (about 2 ms a count)
            ready, _, _ = select.select([control, wake_read], [], [], 0.2 if watch.processes else None)
        except InterruptedError:  # pragma: no cover - select retries on EINTR since 3.5
            continue
        for worker, count in watch.over():
            tell({"over": worker, "processes": count})
            watch.processes.pop(worker)
            _kill_tree(worker)
        if wake_read in ready:
            os.read(wake_read, 4096)
            while True:
                try:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
                watch.processes.pop(pid, None)
                tell({"exited": pid, "status": os.waitstatus_to_exitcode(status)})
            if not watch.processes:  # no page runs: whatever is left below us is a page's leftover
                for leftover in children_of(os.getpid()):
                    _kill_tree(leftover)
        if control in ready:
            message, fds, _, _ = socket.recv_fds(control, 1 << 16, 3)
            if not message:
                return  # the build has gone: so does its fork server, and everything below it
            request = _loads(message)
            pid = os.fork()
            if pid == 0:
                try:
                    signal.set_wakeup_fd(-1)
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    signal.signal(signal.SIGTERM, signal.SIG_DFL)
                    for fd in (control.fileno(), wake_read, wake_write):
                        os.close(fd)
                    child(request["root"], *fds, request)
                except BaseException:  # the answer could not be sent: its reason, to the log the build shows
                    traceback.print_exc()
                    os._exit(CANNOT_ANSWER)
                finally:
                    os._exit(0)
            for fd in fds:
                os.close(fd)
            watch.processes[pid] = int(request.get("processes") or 1 << 30)
            tell({"forked": pid})


def set_limits(limits: dict, tmp: str = "") -> str | None:
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
    if limits.get("file_size"):
        size = int(limits["file_size"]) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    if not limits.get("memory"):
        return None
    megabytes = int(limits["memory"])
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


def child(root: str, requests_fd: int, results_fd: int, log_fd: int, request: dict) -> None:
    """A fresh worker, just forked: its own session (the build kills the whole group), the
    project root as working directory and first on the path, output to its log."""
    os.setsid()
    die_with_parent()
    error = set_limits(request, request.get("tmp", ""))
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    for fd in (null, log_fd):
        os.close(fd)
    os.chdir(root)
    sys.path.insert(0, root)
    session = Session(results_fd)
    if error:
        session.send(Ready(False, error))
        return
    serve(requests_fd, results_fd, session)


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
    # a spawned worker: limits after its imports, as a forked one's
    error = set_limits(json.loads(os.environ.get("DOCEXEC_LIMITS", "{}")))
    if error:
        session.send(Ready(False, error))
        return
    serve(requests_fd, results_fd, session)


if __name__ == "__main__":
    main(sys.argv[1:])
