"""The build's side of the worker processes (docexec/worker.py).

Every page runs in a fresh worker per machinery (the build's own environment, or one Keras
backend and TensorFlow kernel path), so nothing a section does (exit, chdir, monkeypatching
builtins or sys.modules, threads, subprocesses) can reach another page or the build. A worker
is started in its own process group: at the page's deadline, after the page, and when the
build process exits, the whole group is killed, subprocesses included.

Restarts cost nothing visible: one fork server per machinery imports NumPy (and Keras, for
pages that use it) once, then forks each page's fresh worker from that clean state in
milliseconds. Nothing is started until a page has to execute, so a build whose pages are all
frozen starts no process.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import secrets
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

INSTALL_HINT = "install them with `make backends` (or `.venv/bin/pip install -e '.[backends]'`)"


@dataclass(frozen=True)
class Machinery:
    """One way of running Keras: the environment a worker starts with, before Keras is imported."""

    name: str
    label: str  # shown on the page's tab; {Name} fields are filled with library versions
    environment: dict = field(default_factory=dict)
    libraries: dict = field(default_factory=dict)  # version label -> distributions (first installed wins)
    imports: tuple = ()  # modules a worker imports before it is ready

    def versions(self) -> dict[str, str]:
        return {label: _installed(names) or "not installed" for label, names in self.libraries.items()}

    def missing(self) -> list[str]:
        return [names[0] for names in self.libraries.values() if _installed(names) is None]

    def title(self, versions: dict[str, str]) -> str:
        return self.label.format(**{key.replace(" ", "_"): value for key, value in versions.items()})


TENSORFLOW = {"TensorFlow": ("tensorflow-cpu", "tensorflow", "tensorflow-macos"), "Keras": ("keras",)}
DEFAULT = Machinery("default", "this build's environment")
BACKENDS = {
    "tf-eigen": Machinery(
        "tf-eigen", "TensorFlow {TensorFlow} · Eigen",
        {"KERAS_BACKEND": "tensorflow", "TF_ENABLE_ONEDNN_OPTS": "0"}, TENSORFLOW, ("keras",)),
    "tf-onednn": Machinery(
        "tf-onednn", "TensorFlow {TensorFlow} · oneDNN",
        {"KERAS_BACKEND": "tensorflow", "TF_ENABLE_ONEDNN_OPTS": "1"}, TENSORFLOW, ("keras",)),
    "jax": Machinery(
        "jax", "JAX {JAX}",
        {"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"},
        {"JAX": ("jax",), "jaxlib": ("jaxlib",), "Keras": ("keras",)}, ("keras",)),
    "torch": Machinery(
        "torch", "PyTorch {PyTorch}",
        {"KERAS_BACKEND": "torch"},
        {"PyTorch": ("torch",), "Keras": ("keras",)}, ("keras",)),
}


def _installed(names) -> str | None:
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


class WorkerFailed(Exception):
    """A worker died, hung, could not start, or answered nonsense; the message says which."""


class WorkerTimeout(WorkerFailed):
    def __init__(self, message: str, at: str | None):
        super().__init__(message)
        self.at = at  # file:line the page's code was at when it was stopped, if known


# Every environment a worker gets, whatever the machinery: same hash order for sets of strings
# on every run, no display, TensorFlow's C++ chatter off.
FIXED_ENVIRONMENT = {"PYTHONHASHSEED": "0", "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "2"}
_PACKAGE_PARENT = str(Path(__file__).resolve().parents[1])


class Zygote:
    """The fork server of one machinery (docexec.worker.zygote): started once per build (and
    again when docexec's own code changes under `mkdocs serve`), it imports the machinery's
    libraries once and forks each page's fresh worker."""

    def __init__(self, machinery: Machinery, imports: tuple):
        self.machinery, self.imports = machinery, imports
        self.log = tempfile.TemporaryFile()
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        environment = {**os.environ, **FIXED_ENVIRONMENT, **machinery.environment}
        path = [_PACKAGE_PARENT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        environment["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(path))
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "docexec.worker", "--zygote", str(theirs.fileno()), *imports],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                cwd=_PACKAGE_PARENT, env=environment, start_new_session=True,  # each worker moves to its page's root
            )
        finally:
            theirs.close()
        self.ready = False
        self.statuses: dict[int, int] = {}
        self.over: dict[int, int] = {}  # worker pid -> processes its page had when it was killed for it
        self.lock = threading.Lock()

    def _note(self, message: dict) -> None:
        if "exited" in message:
            self.statuses[message["exited"]] = message["status"]
        elif "over" in message:
            self.over[message["over"]] = message["processes"]

    def stopped(self) -> bool:
        """Whether the fork server is stopped (SIGSTOP from a section): it would never answer
        the next page (issue 18: a 300 s stall, then the wrong page blamed)."""
        return _stopped(self.process.pid)

    def _receive(self, deadline: float) -> dict | None:
        """The next message, or None at the deadline."""
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([self.control], [], [], remaining)[0]:
            return None
        data = self.control.recv(1 << 16)
        if not data:
            raise WorkerFailed(f"its fork server stopped (exit status {self.process.wait()}){_tail(self.log)}")
        return json.loads(data)

    def wait_ready(self, deadline: float) -> None:
        with self.lock:
            while not self.ready:
                message = self._receive(deadline)
                if message is None:
                    raise WorkerFailed("its fork server did not finish importing its libraries in time")
                if "ready" in message:
                    if not message["ready"]:
                        raise WorkerFailed(f"importing its libraries failed: {message.get('error')}")
                    self.ready = True
                else:
                    self._note(message)

    def fork(self, root: Path, fds: tuple, deadline: float, limits: dict | None = None) -> int:
        self.wait_ready(deadline)
        if self.stopped():
            raise WorkerFailed("its fork server is stopped (SIGSTOP)")
        with self.lock:
            request = {"root": str(root), **(limits or {})}
            socket.send_fds(self.control, [json.dumps(request).encode()], list(fds))
            while True:
                message = self._receive(deadline)
                if message is None:
                    raise WorkerFailed("its fork server did not answer")
                if "forked" in message:
                    return message["forked"]
                self._note(message)

    def status(self, pid: int, timeout: float) -> int | None:
        """The exit status of a worker this server forked (negative: the signal that killed it)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while pid not in self.statuses:
                try:
                    message = self._receive(deadline)
                except WorkerFailed:
                    return None
                if message is None:
                    return None
                self._note(message)
            return self.statuses.pop(pid)

    def kill(self) -> None:
        """Close the control socket, so that the fork server kills everything below it and
        exits; SIGKILL it if it has not within a few seconds."""
        self.control.close()
        try:
            os.killpg(self.process.pid, signal.SIGCONT)  # a stopped fork server cannot clean up
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.process.wait(3)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        self.log.close()


class Spawner:
    """Where fork() after importing TensorFlow is not safe (macOS), or with DOCEXEC_FORK=0: each
    page's worker is a new process that imports its libraries itself (seconds per page, not
    milliseconds), with the same interface as a Zygote."""

    def __init__(self, machinery: Machinery, imports: tuple):
        self.machinery, self.imports = machinery, imports
        self.processes: dict[int, subprocess.Popen] = {}
        self.process = self  # Pool checks `zygote.process.poll()`: a spawner never dies

    @staticmethod
    def poll() -> None:
        return None

    @staticmethod
    def stopped() -> bool:
        return False

    over: dict = {}  # no fork server watches a spawned worker's process count (README)

    def wait_ready(self, deadline: float) -> None:
        pass

    def fork(self, root: Path, fds: tuple, deadline: float, limits: dict | None = None) -> int:
        requests, results, log = fds
        environment = {**os.environ, **FIXED_ENVIRONMENT, **self.machinery.environment}
        if limits and limits.get("memory"):
            environment["DOCEXEC_MEMORY_MB"] = str(limits["memory"])
        path = [str(root), _PACKAGE_PARENT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        environment["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(path))
        process = subprocess.Popen(
            [sys.executable, "-m", "docexec.worker", str(requests), str(results), *self.imports],
            pass_fds=(requests, results), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            cwd=root, env=environment, start_new_session=True,
        )
        self.processes[process.pid] = process
        return process.pid

    def status(self, pid: int, timeout: float) -> int | None:
        try:
            return self.processes.pop(pid).wait(timeout)
        except (KeyError, subprocess.TimeoutExpired):
            return None

    def kill(self) -> None:
        for process in self.processes.values():
            process.poll()  # reap what has exited; the workers themselves are killed by their Worker


def _forking() -> bool:
    return sys.platform.startswith("linux") and os.environ.get("DOCEXEC_FORK", "1") != "0"


def _starter(machinery: Machinery, imports: tuple):
    """A fork server on Linux; elsewhere, or with DOCEXEC_FORK=0, a spawner."""
    return Zygote(machinery, imports) if _forking() else Spawner(machinery, imports)


class Worker:
    """One page's worker process (forked by a Zygote), its two pipes and its log."""

    def __init__(self, zygote: Zygote | Spawner, root: Path, limits: dict | None = None):
        self.zygote, self.root, self.limits = zygote, root, limits
        self.log = tempfile.TemporaryFile()
        theirs_read, self.requests = os.pipe()
        self.results, theirs_write = os.pipe()
        self._theirs = [theirs_read, theirs_write]  # the worker's ends, closed here once it has them
        self.pid: int | None = None
        self.buffer = b""
        self.started = False
        LIVE.add(self)

    def wait_ready(self, deadline: float) -> None:
        if self.started:
            return
        if self.pid is None:
            try:
                self.pid = self.zygote.fork(self.root, (*self._theirs, self.log.fileno()), deadline, self.limits)
            finally:
                self._close_theirs()
        answer = self.read(deadline, "starting")
        if not answer.get("ready"):
            raise WorkerFailed(f"could not start: {answer.get('error', answer)}")
        self.started = True

    def call(self, request: dict, deadline: float, doing: str) -> dict:
        """Send one request and wait for its answer until `deadline` (time.monotonic())."""
        self.wait_ready(deadline)
        nonce = secrets.token_hex(16)
        data = (json.dumps({**request, "nonce": nonce}, ensure_ascii=True) + "\n").encode("ascii")
        try:
            while data:
                data = data[os.write(self.requests, data):]
        except BrokenPipeError:
            raise WorkerFailed(self.death(doing)) from None
        answer = self.read(deadline, doing)
        if "fatal" not in answer and answer.get("nonce") != nonce:
            self.kill()
            raise WorkerFailed(
                f"answered out of turn while {doing}: the answer does not carry its request's nonce, so it was "
                f"not the worker's answer (a section wrote to the build's result channel)"
            )
        return answer

    def read(self, deadline: float, doing: str) -> dict:
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                at = self.where_now()
                self.kill()
                raise WorkerTimeout(f"was stopped at the time limit while {doing}", at)
            ready, _, _ = select.select([self.results], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self.results, 1 << 20)
            if not chunk:
                raise WorkerFailed(self.death(doing))
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        try:
            answer = json.loads(line)
            if not isinstance(answer, dict):
                raise ValueError("not an object")
        except ValueError:
            self.kill()
            raise WorkerFailed(f"answered something that is not a result while {doing}: {line[:200]!r}") from None
        return answer

    def death(self, doing: str) -> str:
        """What happened to a worker whose result pipe closed."""
        status = self.zygote.status(self.pid, timeout=5) if self.pid else None
        tail = _tail(self.log)
        self.kill()
        over = self.zygote.over.pop(self.pid, None)
        if over is not None:
            return (f"had {over} processes, more than the page's limit of {self.limits['processes']} processes, "
                    f"and was stopped while {doing} (set another with <!-- docexec processes=N -->)")
        if status is None:
            return f"closed its result pipe while {doing}{tail}"
        if status < 0:
            try:
                name = signal.Signals(-status).name
            except ValueError:
                name = f"signal {-status}"
            how = f"was killed by {name}"
        else:
            how = f"exited with status {status}"
        return f"{how} while {doing}{tail}"

    def where_now(self) -> str | None:
        """file:line of the project code the worker is running, from a faulthandler dump
        (it works while the main thread is stuck inside a C call)."""
        try:
            size = os.fstat(self.log.fileno()).st_size
            os.kill(self.pid, signal.SIGUSR1)
        except (OSError, ValueError, TypeError):
            return None
        dump = ""
        for _ in range(40):
            time.sleep(0.05)
            self.log.seek(size)
            dump = self.log.read().decode("utf-8", "replace")
            if "most recent call first" in dump and dump.endswith("\n"):
                time.sleep(0.05)
                self.log.seek(size)
                dump = self.log.read().decode("utf-8", "replace")
                break
        # Most recent call first; the main thread's stack is the one that runs the page.
        blocks = re.split(r"\n(?=(?:Current thread|Thread) 0x)", dump)
        main = [b for b in blocks if f"docexec{os.sep}worker.py" in b] or blocks
        for block in main:
            for match in re.finditer(r'File "([^"]+)", line (\d+)', block):
                try:
                    relative = Path(match[1]).relative_to(self.root)
                except ValueError:
                    continue
                if relative.parts[0] not in ("docexec", ".venv"):
                    return f"{relative}:{match[2]}"
        return None

    def kill(self) -> None:
        """The whole process group, and any descendant that left it (setsid)."""
        LIVE.discard(self)
        if self.pid is not None:
            descendants = _descendants(self.pid)
            for kill in (lambda: os.killpg(self.pid, signal.SIGKILL), *(
                    (lambda pid=pid: os.kill(pid, signal.SIGKILL)) for pid in descendants)):
                try:
                    kill()
                except (ProcessLookupError, PermissionError):
                    pass
        for fd in (self.requests, self.results):
            try:
                os.close(fd)
            except OSError:
                pass
        self.requests = self.results = -1
        self._close_theirs()
        self.log.close()

    def _close_theirs(self) -> None:
        while self._theirs:
            os.close(self._theirs.pop())


def _tail(log, lines: int = 15) -> str:
    """The end of a worker's log (stdout and stderr), for a message about its death."""
    try:
        log.seek(0)
        text = log.read()[-20000:].decode("utf-8", "replace").strip()
    except (OSError, ValueError):
        return ""
    return "; its last output:\n" + "\n".join(text.splitlines()[-lines:]) if text else ""


_STOP_SIGNALS = sum(1 << (number - 1) for number in (signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU))


def _stopped(pid: int) -> bool:
    """Whether process `pid` is stopped, or has a stop signal pending (a section's SIGSTOP may
    not have taken effect yet when its block answers); False off Linux."""
    try:
        with open(f"/proc/{pid}/status") as status:
            fields = dict(line.split(":", 1) for line in status if ":" in line)
    except OSError:
        return False
    pending = int(fields.get("SigPnd", "0"), 16) | int(fields.get("ShdPnd", "0"), 16)
    return fields.get("State", "").strip()[:1] in ("T", "t") or bool(pending & _STOP_SIGNALS)


def _descendants(pid: int) -> list[int]:
    try:
        import psutil

        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except Exception:  # psutil missing or the process gone: the group kill still applies
        return []


LIVE: set = set()  # every worker not yet killed, whatever holds it


class Pool:
    """One fork server per (machinery, imports), started when a page first needs it and
    kept for the build (and, under `mkdocs serve`, until docexec's own code changes)."""

    def __init__(self):
        self.zygotes: dict[tuple, Zygote] = {}
        self.lock = threading.Lock()

    def take(self, machinery: Machinery, root: Path, imports: tuple, limits: dict | None = None) -> Worker:
        """A fresh worker for one page, with the page's `limits` ({"memory": MB, "processes":
        N}); it is forked when first used."""
        key = (machinery.name, tuple(imports), _engine_stamp(), _forking())
        with self.lock:
            zygote = self.zygotes.get(key)
            if zygote is not None and (zygote.process.poll() is not None or zygote.stopped()):
                del self.zygotes[key]
                zygote.kill()
                zygote = None
            if zygote is None:
                for old in [k for k in self.zygotes if k[2] != key[2]]:
                    self.zygotes.pop(old).kill()
                zygote = self.zygotes[key] = _starter(machinery, tuple(imports))
        return Worker(zygote, root, limits)

    def prestart(self, machinery: Machinery, imports: tuple) -> None:
        """Start the fork server now (it imports in the background) if none is running."""
        key = (machinery.name, tuple(imports), _engine_stamp(), _forking())
        with self.lock:
            if key not in self.zygotes:
                for old in [k for k in self.zygotes if k[2] != key[2]]:
                    self.zygotes.pop(old).kill()
                self.zygotes[key] = _starter(machinery, tuple(imports))

    def shutdown(self) -> None:
        for worker in list(LIVE):
            worker.kill()
        with self.lock:
            zygotes, self.zygotes = list(self.zygotes.values()), {}
        for zygote in zygotes:
            zygote.kill()


def _engine_stamp() -> int:
    """Changes when a file of docexec changes, so `serve` forks workers from the new code."""
    return max(file.stat().st_mtime_ns for file in Path(__file__).parent.glob("*.py"))


POOL = Pool()
atexit.register(POOL.shutdown)
