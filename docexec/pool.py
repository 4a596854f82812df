"""The build's side of the processes: one fork server per backend (docexec/forkserver.py),
started when a page first has to execute, and one fresh worker per page and backend
(docexec/worker.py) in its own process group, killed whole at the page's deadline, after the
page, and when the build exits. Nothing a section does can reach another page or the build."""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .backends import PACKAGE_PARENT, Backend
from .errors import WorkerFailed, WorkerTimeout
from .protocol import CANNOT_ANSWER, Exited, Forked, ForkRequest, Limits, OverLimit, Ready, decode, encode, project_file


class ForkServer:
    """The fork server of one backend (docexec/forkserver.py): started once per build (and
    again when docexec's own code changes under `mkdocs serve`), it imports the backend's
    libraries once and forks each page's fresh worker."""

    def __init__(self, backend: Backend, imports: tuple):
        self.backend, self.imports = backend, imports
        self.log = tempfile.TemporaryFile()
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        environment = backend.worker_environment()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "docexec.forkserver", str(theirs.fileno()), *imports],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                cwd=PACKAGE_PARENT, env=environment, start_new_session=True,  # each worker moves to its page's root
            )
        finally:
            theirs.close()
        self.ready = False
        self.statuses: dict[int, int] = {}
        self.over: dict[int, int] = {}  # worker pid -> processes its page had when it was killed for it
        self.lock = threading.Lock()

    def alive(self) -> bool:
        return self.process.poll() is None

    def _receive(self, deadline: float):
        """The next message that is not a note (Exited and OverLimit are noted), or None at the deadline."""
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([self.control], [], [], remaining)[0]:
            return None
        data = self.control.recv(1 << 16)
        if not data:
            raise WorkerFailed(f"its fork server stopped (exit status {self.process.wait()}){_tail(self.log)}")
        message = decode(data)
        if isinstance(message, Exited):
            self.statuses[message.pid] = message.status
        elif isinstance(message, OverLimit):
            self.over[message.pid] = message.processes
        else:
            return message
        return self._receive(deadline)

    def wait_ready(self, deadline: float) -> None:
        with self.lock:
            if not self.ready:
                message = self._receive(deadline)
                if message is None:
                    raise WorkerFailed("its fork server did not finish importing its libraries in time")
                if not message.ready:
                    raise WorkerFailed(f"importing its libraries failed: {message.error}")
                self.ready = True

    def fork(self, root: Path, fds: tuple, deadline: float, limits: Limits | None, tmp: str) -> int:
        self.wait_ready(deadline)
        with self.lock:
            request = ForkRequest(str(root), tmp, limits or Limits())
            socket.send_fds(self.control, [encode(request)], list(fds))
            message = self._receive(deadline)
            if not isinstance(message, Forked):
                raise WorkerFailed("its fork server did not answer")
            return message.pid

    def status(self, pid: int, timeout: float) -> int | None:
        """The exit status of a worker this server forked (negative: the signal that killed it)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            try:
                while pid not in self.statuses and time.monotonic() < deadline:
                    self._receive(min(deadline, time.monotonic() + 0.05))
            except WorkerFailed:
                return None
            return self.statuses.pop(pid, None)

    def kill(self) -> None:
        """Close the control socket, so that the fork server kills everything below it and
        exits; SIGKILL it if it has not within a few seconds."""
        self.control.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(3)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.log.close()


class Spawner:
    """Where fork() after importing TensorFlow is not safe (macOS), or with DOCEXEC_FORK=0: each
    page's worker is a new process that imports its libraries itself (seconds per page, not
    milliseconds), with the same interface as a ForkServer."""

    def __init__(self, backend: Backend, imports: tuple):
        self.backend, self.imports = backend, imports
        self.processes: dict[int, subprocess.Popen] = {}
        self.over: dict = {}  # stays empty: no fork server watches a spawned worker's process count (README)

    @staticmethod
    def alive() -> bool:
        return True

    def wait_ready(self, deadline: float) -> None:
        pass

    def fork(self, root: Path, fds: tuple, deadline: float, limits: Limits | None, tmp: str) -> int:
        requests, results, log = fds
        environment = self.backend.worker_environment(first_on_path=(str(root),))
        environment["TMPDIR"] = tmp
        if limits is not None:
            environment["DOCEXEC_LIMITS"] = json.dumps(dataclasses.asdict(limits))
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


def _starter(backend: Backend, imports: tuple):
    """A fork server on Linux; elsewhere, or with DOCEXEC_FORK=0, a spawner."""
    return ForkServer(backend, imports) if _forking() else Spawner(backend, imports)


class Worker:
    """One page's worker process (forked by a ForkServer), its two pipes and its log."""

    def __init__(self, server: ForkServer | Spawner, root: Path, limits: Limits | None, live: set):
        self.server, self.root, self.limits, self.live = server, root, limits, live
        self.log = tempfile.TemporaryFile()
        self.tmp = tempfile.mkdtemp(prefix="docexec-page-")  # the page's TMPDIR, removed with the worker
        theirs_read, self.requests = os.pipe()
        self.results, theirs_write = os.pipe()
        self._theirs = [theirs_read, theirs_write]  # the worker's ends, closed here once it has them
        self.pid: int | None = None
        self.buffer = b""
        self.started = False
        live.add(self)

    def wait_ready(self, deadline: float) -> None:
        if self.started:
            return
        if self.pid is None:
            try:
                fds = (*self._theirs, self.log.fileno())
                self.pid = self.server.fork(self.root, fds, deadline, self.limits, self.tmp)
            finally:
                self._close_theirs()
        answer = self.read(deadline, "starting")
        if not isinstance(answer, Ready) or not answer.ready:
            raise WorkerFailed(str(getattr(answer, "error", None) or answer))
        self.started = True

    def call(self, request, deadline: float, doing: str):
        """Send one request (docexec.protocol) and wait for its answer until `deadline` (time.monotonic())."""
        self.wait_ready(deadline)
        data = encode(request)
        try:
            while data:
                data = data[os.write(self.requests, data):]
        except BrokenPipeError:
            raise WorkerFailed(self.death(doing)) from None
        return self.read(deadline, doing)

    def read(self, deadline: float, doing: str):
        """The next message."""
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
            return decode(line)
        except (ValueError, TypeError):
            self.kill()
            raise WorkerFailed(f"answered something that is not a result while {doing}: {line[:200]!r}") from None

    def death(self, doing: str) -> str:
        """What happened to a worker whose result pipe closed."""
        status = self.server.status(self.pid, timeout=5) if self.pid else None
        tail = _tail(self.log)
        self.kill()
        over = self.server.over.pop(self.pid, None)
        if over is not None:
            return (f"had {over} processes, more than the page's limit of {self.limits.processes} processes, "
                    f"and was stopped while {doing} (set another with <!-- docexec processes=N -->)")
        if status is None:
            return f"closed its result pipe while {doing}{tail}"
        if status < 0:
            try:
                name = signal.Signals(-status).name
            except ValueError:
                name = f"signal {-status}"
            how = f"was killed by {name}"
        elif status == CANNOT_ANSWER:  # out of memory or stack while answering, its descriptors closed (probe 54)
            how = "could not send its answer"
        else:
            how = f"exited with status {status}"
        return f"{how} while {doing}{tail}"

    def where_now(self) -> str | None:
        """file:line of the project code the worker was running half a second before its time
        limit, from the faulthandler dump it wrote then (PageRequest.timeout: it works while
        the main thread is stuck inside a C call)."""
        try:
            self.log.seek(max(0, os.fstat(self.log.fileno()).st_size - 65536))
            dump = self.log.read(65536).decode("utf-8", "replace").rpartition("Timeout (")[2]
        except (OSError, ValueError):
            return None
        # Most recent call first; the main thread's stack is the one that runs the page.
        blocks = re.split(r"\n(?=(?:Current thread|Thread) 0x)", dump)
        main = [b for b in blocks if f"docexec{os.sep}worker.py" in b] or blocks
        for block in main:
            for match in re.finditer(r'File "([^"]+)", line (\d+)', block):
                relative = project_file(match[1], self.root)
                if relative is not None:
                    return f"{relative}:{match[2]}"
        return None

    def kill(self) -> None:
        """The whole process group, and any descendant that left it (setsid)."""
        self.live.discard(self)
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
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _close_theirs(self) -> None:
        while self._theirs:
            os.close(self._theirs.pop())


def _tail(log, lines: int = 15, most: int = 20000) -> str:
    """The end of a worker's log (stdout and stderr), for a message about its death: its last
    `most` bytes only (a section wrote 600 MB to fd 2 before dying; probe 53)."""
    try:
        log.seek(max(0, log.seek(0, os.SEEK_END) - most))
        text = log.read(most).decode("utf-8", "replace").strip()
    except (OSError, ValueError):
        return ""
    return "; its last output:\n" + "\n".join(text.splitlines()[-lines:]) if text else ""


def _descendants(pid: int) -> list[int]:
    try:
        import psutil

        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except Exception:  # psutil missing or the process gone: the group kill still applies
        return []


class Pool:
    """One fork server per (backend, imports), started when a page first needs it and
    kept for the build (and, under `mkdocs serve`, until docexec's own code changes)."""

    def __init__(self):
        self.servers: dict[tuple, ForkServer | Spawner] = {}
        self.lock = threading.Lock()
        self.live: set[Worker] = set()  # every worker not yet killed, whatever holds it
        self.prestarted: set[Path] = set()  # project roots whose fork server was started ahead

    def server(self, backend: Backend, imports: tuple) -> ForkServer | Spawner:
        """The running fork server for (backend, imports); started now (it imports in the
        background) if there is none, or it died, or docexec's code changed since."""
        key = (backend.name, tuple(imports), _engine_stamp(), _forking())
        with self.lock:
            server = self.servers.get(key)
            if server is not None and not server.alive():
                self.servers.pop(key).kill()
                server = None
            if server is None:
                for old in [k for k in self.servers if k[2] != key[2]]:
                    self.servers.pop(old).kill()
                server = self.servers[key] = _starter(backend, tuple(imports))
            return server

    def take(self, backend: Backend, root: Path, imports: tuple, limits: Limits | None = None) -> Worker:
        """A fresh worker for one page, with the page's `limits`; it is forked when first used."""
        return Worker(self.server(backend, imports), root, limits, self.live)

    def shutdown(self) -> None:
        for worker in list(self.live):
            worker.kill()
        with self.lock:
            servers, self.servers = list(self.servers.values()), {}
        for server in servers:
            server.kill()


def _engine_stamp() -> int:
    """Changes when a file of docexec changes, so `serve` forks workers from the new code."""
    return max(file.stat().st_mtime_ns for file in Path(__file__).parent.glob("*.py"))


POOL = Pool()
atexit.register(POOL.shutdown)
