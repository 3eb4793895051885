"""Worker processes of a study, and ending them with the study.

Every isolated run is a child process. When the study ends early (Ctrl-C, SIGTERM, an
error), :meth:`Workers.terminate_all` stops the children still training and refuses to start
new ones; without it they would keep training under PID 1 after their parent is gone. A
parent killed outright (SIGKILL) cannot clean up, so each worker also watches its parent
(:func:`worker_command`) and exits when it is reparented.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: Environment variable through which a worker learns its parent's pid.
PARENT_PID = "STEP_STUDY_PARENT_PID"


class Workers:
    """The live child processes of one study (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: set[subprocess.Popen] = set()
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
    """The command that runs ``python -m module args`` as a study worker.

    The worker first starts watching its parent, with the standard library only, and exits as
    soon as the study process that started it is gone (SIGKILL leaves it no chance to clean
    up). Watching starts before ``module`` is imported: importing step pulls in torch, which
    takes seconds (tens under load), and an orphan must not train meanwhile. Polling the parent
    pid is portable and, unlike Linux's PR_SET_PDEATHSIG, does not fire when the parent's
    *thread* that started the worker ends.
    """
    return [sys.executable, "-c", _BOOT, module, *args]


_BOOT = f"""
import os, sys, threading, time
parent = os.environ.get("{PARENT_PID}")
if parent:
    def watch(expected=int(parent)):
        while True:
            if os.getppid() != expected:
                os._exit(143)
            time.sleep(0.5)
    threading.Thread(target=watch, daemon=True, name="step-parent-watch").start()
import runpy
sys.argv = sys.argv[1:]
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""
