"""Worker processes of a study, and ending them with the study.

Every isolated run is a child process. Study runs are forked from a warm *fork server*
(:meth:`Workers.run_forked`): one process that imported torch, step and the training code
once, so that each run starts in milliseconds instead of paying ~10 s of imports (torch,
torch._dynamo which the optimizer pulls in, the models) in every fresh interpreter, while
still being a process of its own (its own peak memory, its own crash). Other commands run
as plain subprocesses (:meth:`Workers.run`).

When the study ends early (Ctrl-C, SIGTERM, an error), :meth:`Workers.terminate_all` stops
the children still working and refuses to start new ones; without it they would keep
training under PID 1 after their parent is gone. A parent killed outright (SIGKILL) cannot
clean up, so each worker also watches its parent (:func:`watch_parent`) and exits when it is
reparented: a forked run watches the fork server, which itself exits when the study is gone.
"""

from __future__ import annotations

import inspect
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

#: Module the fork server imports before forking any run (see :mod:`step.study._worker`).
PRELOAD = "step.study._worker"


def watch_parent(expected: int, study: int | None = None, interval_s: float = 0.5) -> None:
    """End this process (exit 143) as soon as its parent is no longer ``expected``, or the
    process ``study`` is gone.

    Polling pids is portable and, unlike Linux's PR_SET_PDEATHSIG, does not fire when the
    parent's *thread* that started the worker ends. ``study`` is for a forked run, whose parent
    is the fork server: the server exits when the study does, but only after several seconds
    of interpreter shutdown, which an orphan must not spend training. Standard library only:
    the source of this function is also what a subprocess worker runs before importing
    anything (:func:`worker_command`).
    """
    import os
    import threading
    import time

    def gone(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def watch() -> None:
        while True:
            if os.getppid() != expected or (study is not None and gone(study)):
                os._exit(143)
            time.sleep(interval_s)

    threading.Thread(target=watch, daemon=True, name="step-parent-watch").start()


class _Child(Protocol):
    def poll(self) -> int | None: ...
    def terminate(self) -> None: ...
    def kill(self) -> None: ...
    def wait(self, timeout: float | None = None) -> Any: ...


class _ForkedChild:
    """A forked run seen through the subset of ``subprocess.Popen`` that the study uses."""

    def __init__(self, proc: multiprocessing.process.BaseProcess) -> None:
        self.proc = proc

    def poll(self) -> int | None:
        return self.proc.exitcode

    def terminate(self) -> None:
        self.proc.terminate()

    def kill(self) -> None:
        self.proc.kill()

    def wait(self, timeout: float | None = None) -> int | None:
        self.proc.join(timeout)
        if self.proc.exitcode is None:
            raise subprocess.TimeoutExpired("forked run", timeout or 0.0)
        return self.proc.exitcode

#: Environment variable through which a worker learns its parent's pid.
PARENT_PID = "STEP_STUDY_PARENT_PID"


class Workers:
    """The live child processes of one study (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: set[_Child] = set()
        self.closing = False

    def run(self, cmd: list[str], env: dict[str, str]) -> tuple[int, str]:
        """Run ``cmd`` to the end; returns (exit code, stderr). Refused once closing."""
        with self._lock:
            if self.closing:
                return -signal.SIGTERM, "the study was stopped before this run started"
            proc = subprocess.Popen(cmd, env={**env, PARENT_PID: str(os.getpid())},
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    text=True)
            self._procs.add(proc)
        try:
            _, err = proc.communicate()
        finally:
            with self._lock:
                self._procs.discard(proc)
        return proc.returncode, err

    def run_forked(self, target: str, arg: str, log: Path,
                   threads: int | None = None) -> tuple[int, str]:
        """Run ``target(arg)`` (``"module:function"``) in a process forked from the warm fork
        server, to the end; returns (exit code, error line). The child's stdout and stderr go
        to ``log``; its error line comes back through a pipe, or is the log's last line when
        it died without saying (a crash in C code). Refused once closing."""
        ctx = _fork_server()
        receive, send = ctx.Pipe(duplex=False)
        with self._lock:
            if self.closing:
                return -signal.SIGTERM, "the study was stopped before this run started"
            proc = ctx.Process(target=_forked_main, daemon=False,
                               args=(target, arg, str(log), threads, os.getpid(), send))
            proc.start()
            child = _ForkedChild(proc)
            self._procs.add(child)
        send.close()
        try:
            try:
                message = receive.recv()  # the child's line, or EOF once it is gone
            except EOFError:
                message = ""
            proc.join()
        finally:
            receive.close()
            with self._lock:
                self._procs.discard(child)
        if proc.exitcode != 0 and not message:
            message = _last_line(log) or f"worker exited with {proc.exitcode}"
        return proc.exitcode if proc.exitcode is not None else -1, message

    def terminate_all(self, grace_s: float = 5.0) -> None:
        """SIGTERM every live worker, SIGKILL those still alive after ``grace_s``."""
        with self._lock:
            self.closing = True
            procs = list(self._procs)
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(grace_s)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Inside, SIGTERM raises KeyboardInterrupt in the main thread, so the study unwinds
    (terminating its workers) exactly as on Ctrl-C. Only the main thread can set handlers;
    elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def worker_command(module: str, *args: str) -> list[str]:
    """The command that runs ``python -m module args`` as a worker subprocess.

    The worker first starts watching its parent (:func:`watch_parent`, standard library
    only) and exits as soon as the process that started it is gone (SIGKILL leaves it no
    chance to clean up). Watching starts before ``module`` is imported: importing step pulls
    in torch, which takes seconds (tens under load), and an orphan must not work meanwhile.
    """
    return [sys.executable, "-c", _BOOT, module, *args]


_BOOT = inspect.getsource(watch_parent) + f"""
import os, sys
if os.environ.get("{PARENT_PID}"):
    watch_parent(int(os.environ["{PARENT_PID}"]))
import runpy
sys.argv = sys.argv[1:]
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""

_server_lock = threading.Lock()


def _fork_server() -> multiprocessing.context.BaseContext:
    """The fork-server context, preloading :data:`PRELOAD` (set before its server starts)."""
    with _server_lock:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([PRELOAD])
        return ctx


def _forked_main(target: str, arg: str, log: str, threads: int | None, study: int,
                 send: Connection) -> None:
    """First code of a forked run: watch the fork server and the study, send output to
    ``log``, run."""
    import importlib

    watch_parent(os.getppid(), study)
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    module, function = target.split(":")
    code, message = getattr(importlib.import_module(module), function)(arg, threads)
    send.send(message)
    send.close()
    sys.stdout.flush()
    sys.stderr.flush()
    raise SystemExit(code)


def _last_line(path: Path) -> str:
    try:
        lines = [ln for ln in Path(path).read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return lines[-1] if lines else ""
