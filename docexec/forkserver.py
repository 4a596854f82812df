"""The fork server of one backend: `python -m docexec.forkserver CONTROL_FD [MODULE ...]`.

It imports NumPy and the MODULEs once, then forks a fresh worker (docexec/worker.py) per page
in milliseconds, never running a page's code itself. Over the control socket (SOCK_SEQPACKET,
one docexec/protocol.py message a packet) a ForkRequest with three descriptors (requests,
results, log) gets Forked; it reaps its workers (Exited) and kills a page over its process
limit (OverLimit). A child subreaper, it kills whatever a page left once no worker runs, and
everything below it when the build goes (the socket closes, or SIGTERM on the parent's death).
"""

from __future__ import annotations

import os
import select
import signal
import socket
import sys
import traceback

import psutil  # ~15 ms to import, once per fork server

from .protocol import CANNOT_ANSWER, Exited, Forked, ForkRequest, OverLimit, Ready, decode, encode
from .worker import Session, prepare, serve, set_limits

PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36


def prctl(option: int, value: int) -> None:
    """Linux's prctl: PR_SET_PDEATHSIG (a signal when the parent dies, so that a build killed
    without a chance to clean up leaves no process behind) or PR_SET_CHILD_SUBREAPER."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the build's atexit and the closed pipes remain
        pass


def tree(pid: int) -> list[psutil.Process]:
    """`pid` and every live descendant of it."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def kill_tree(pid: int) -> None:
    """SIGKILL `pid`, its process group if it leads one, and everything below it."""
    for process in tree(pid):
        for kill in (os.killpg, os.kill):
            try:
                kill(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def kill_children() -> int:
    """Kill each child of this fork server with everything below it; how many there were."""
    for leftover in (children := psutil.Process().children()):
        kill_tree(leftover.pid)
    return len(children)


def end_descendants() -> None:
    """Kill every process below this fork server and reap it (a process a section
    double-forked was re-parented here, the subreaper, not to init)."""
    for _ in range(1000):
        if not kill_children():
            break
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break


def over_limit(limits: dict[int, int]) -> list[tuple[int, int]]:
    """(worker, processes it has) for every page over its limit (worker pid -> limit). A page's
    processes are its worker, everything below it, and, when it runs alone, what was
    re-parented to this fork server. RLIMIT_NPROC counts a user's processes, and root is
    exempt from it: it cannot be a per-page limit."""
    if not limits:
        return []
    sizes = {worker: len(tree(worker)) for worker in limits}
    stray = len(psutil.Process().children(recursive=True)) - sum(sizes.values())
    extra = stray if len(limits) == 1 else 0
    return [(worker, size + extra) for worker, size in sizes.items() if size + extra > limits[worker]]


def main(control_fd: int, preload: list[str]) -> None:
    control = socket.socket(fileno=control_fd)
    prctl(PR_SET_CHILD_SUBREAPER, 1)

    def leave(*_):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, leave)
    prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() == 1:  # the build died before the line above
        return
    error = prepare(preload)
    control.send(encode(Ready(not error, error)))
    if error:
        return
    try:
        serve_forks(control)
    finally:
        # The build's death brings both the closed socket and SIGTERM: the second must not
        # interrupt the clean-up the first started.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        end_descendants()


def serve_forks(control) -> None:
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    limits: dict[int, int] = {}  # running worker -> processes its page may have
    while True:  # while a page runs, count its processes five times a second
        ready, _, _ = select.select([control, wake_read], [], [], 0.2 if limits else None)
        for worker, count in over_limit(limits):
            control.send(encode(OverLimit(worker, count)))
            limits.pop(worker)
            kill_tree(worker)
        if wake_read in ready:
            os.read(wake_read, 4096)
            while True:
                try:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
                limits.pop(pid, None)
                control.send(encode(Exited(pid, os.waitstatus_to_exitcode(status))))
            if not limits:  # no page runs: whatever is left below us is a page's leftover
                kill_children()
        if control in ready:
            message, fds, _, _ = socket.recv_fds(control, 1 << 16, 3)
            if not message:
                return  # the build has gone: so does its fork server, and everything below it
            request = decode(message)
            pid = os.fork()
            if pid == 0:
                try:
                    signal.set_wakeup_fd(-1)
                    for number in (signal.SIGCHLD, signal.SIGTERM):
                        signal.signal(number, signal.SIG_DFL)
                    for fd in (control.fileno(), wake_read, wake_write):
                        os.close(fd)
                    child(request, *fds)
                except BaseException:  # the answer could not be sent: its reason, to the log the build shows
                    traceback.print_exc()
                    os._exit(CANNOT_ANSWER)
                finally:
                    os._exit(0)
            for fd in fds:
                os.close(fd)
            limits[pid] = request.limits.processes
            control.send(encode(Forked(pid)))


def child(request: ForkRequest, requests_fd: int, results_fd: int, log_fd: int) -> None:
    """A fresh worker, just forked: its own session (the build kills the whole group), the
    project root as working directory and first on the path, output to its log."""
    os.setsid()
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    error = set_limits(request.limits, request.tmp)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    for fd in (null, log_fd):
        os.close(fd)
    os.chdir(request.root)
    sys.path.insert(0, request.root)
    session = Session(results_fd)
    if error:
        session.send(Ready(False, error))
        return
    serve(requests_fd, results_fd, session)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2:])
