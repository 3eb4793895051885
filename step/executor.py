"""Where the many runs of a study, a sweep or a conformance run execute: here, or on Ray.

``local`` (the default) needs nothing beyond step: a study forks its runs from a warm fork
server, a sweep runs its points one after another, the conformance suite runs in this process.
``ray`` makes each run a Ray task with its own resource request (CPUs, and one GPU for a run on
``cuda``), so the same command fans out over a Ray cluster: ``ray start --head`` on one
machine, ``ray start --address HEAD:6379`` on the others, then ``--executor ray --address
HEAD:6379`` (without ``--address``, Ray's own rule: the cluster named by ``RAY_ADDRESS``, else a
new local instance on this machine's cores). The driver, this process, still writes every
result into the same crash-safe files as a local run, as each task finishes.

A task that raises, or whose worker dies, is retried ``--retries`` times by Ray itself
(``max_retries`` with ``retry_exceptions``); after that it is one failed row with its error
line. A :class:`~step.errors.StepError` (a bad dataset name, say) is returned as the row's
error, never retried: it would fail the same way again.

Ray is optional (``pip install 'step-snn[ray]'``) and imported only here, only for ``ray``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from step.errors import InputError

EXECUTORS = ("local", "ray")

#: What the error line of a Ray task says when Ray is missing.
RAY_HINT = "pip install 'step-snn[ray]'"


def check_executor(executor: str, address: str | None = None, retries: int = 0) -> str:
    """``executor`` if it can run here with these options, else one line naming the fix.

    Called while a command's settings are parsed, before any work: ``--executor ray`` without
    Ray installed stops at once, not after the first runs.
    """
    if executor not in EXECUTORS:
        raise InputError(f"unknown executor {executor!r}: choose local or ray")
    if executor == "local":
        if address:
            raise InputError("--address names a Ray cluster: add --executor ray")
        if retries:
            raise InputError("--retries applies to Ray tasks (add --executor ray); a local "
                             "study or sweep retries its failed runs when run again")
        return executor
    if retries < 0:
        raise InputError(f"--retries must be >= 0, got {retries}")
    if importlib.util.find_spec("ray") is None:
        raise InputError(f"--executor ray needs Ray, which is not installed: {RAY_HINT} "
                         "(or use --executor local)")
    return executor


def add_executor_flags(p: Any) -> None:
    """``--executor``, ``--address`` and ``--retries`` on an argparse command."""
    p.add_argument("--executor", choices=EXECUTORS,
                   help="local (default): runs on this machine; ray: every run a Ray task "
                   f"with its resource request, on a Ray cluster ({RAY_HINT})")
    p.add_argument("--address", metavar="HOST:PORT",
                   help="Ray cluster to run on (with --executor ray; default: RAY_ADDRESS, "
                   "else a new local Ray instance)")
    p.add_argument("--retries", type=int, metavar="N",
                   help="with --executor ray: retry a task that raised or whose worker died "
                   "N times before it is a failed row (default 0)")


def resources(device: str, cpus: int = 1) -> dict[str, float]:
    """The Ray resource request of one run on ``device``: ``cpus`` CPUs, one GPU on cuda."""
    return {"num_cpus": cpus, "num_gpus": 1 if device.startswith("cuda") else 0}


def error_line(err: BaseException) -> str:
    """One line for a task that failed after its retries (Ray wraps the task's exception)."""
    cause = getattr(err, "cause", None)
    if isinstance(cause, BaseException):
        err = cause
    text = " ".join(str(err).split()) if not type(err).__module__.startswith("ray") else ""
    name = type(err).__name__
    if name == "WorkerCrashedError":
        return "the Ray worker running this task died (out of memory, or a crash in C code)"
    if name == "NodeDiedError":
        return "the Ray node running this task died"
    first = text.split(" Traceback ")[0]
    return f"{name}: {first}" if first else name


class RayPool:
    """A connection to Ray for one command: submit tasks, take their results as they finish.

    Connects to ``address`` (or starts a local instance, Ray's default) on entry and
    disconnects on exit; a Ray already initialised by the caller (a notebook, a test with
    ``ray.init(num_cpus=2)``) is used as it is and left running.
    """

    def __init__(self, address: str | None = None, retries: int = 0) -> None:
        self.address, self.retries = address, retries
        self._owned = False

    def __enter__(self) -> RayPool:
        import contextlib
        import sys

        import ray

        self.ray = ray
        # Ray's driver prints task failures and retries on stdout ("(raylet) Task ... failed"):
        # stdout belongs to --json, so while the pool is open they go to stderr
        self._stdout = contextlib.redirect_stdout(sys.stderr)
        self._stdout.__enter__()
        if not ray.is_initialized():
            try:
                ray.init(address=self.address, log_to_driver=False, logging_level="ERROR")
            except (ConnectionError, ValueError, RuntimeError) as err:
                self._stdout.__exit__(None, None, None)
                where = self.address or "a new local instance"
                raise InputError(f"cannot start Ray on {where}: {' '.join(str(err).split())}"
                                 " (check --address, or start the cluster with ray start "
                                 "--head)") from None
            self._owned = True
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._owned:
                self.ray.shutdown()
        finally:
            self._stdout.__exit__(None, None, None)

    def cpus(self) -> int:
        """The CPUs of the cluster (at least 1)."""
        return max(1, int(self.ray.cluster_resources().get("CPU", 1)))

    def run(self, fn: Callable[..., Any], jobs: Sequence[tuple[Any, ...]],
            requests: Sequence[dict[str, float]],
            options: dict[str, Any] | None = None) -> Iterator[tuple[int, Any]]:
        """Run ``fn(*job)`` as one Ray task per job; yield ``(index, result)`` as each
        finishes, where a task that failed after its retries yields its exception.
        ``options`` go to ``ray.remote`` (``max_calls=1``: a fresh worker process per task)."""
        ray = self.ray
        remote = ray.remote(**options)(fn) if options else ray.remote(fn)
        refs = {}
        for i, (job, request) in enumerate(zip(jobs, requests, strict=True)):
            task = remote.options(**request, max_retries=self.retries,
                                  retry_exceptions=self.retries > 0)
            refs[task.remote(*job)] = i
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            try:
                yield refs[done[0]], ray.get(done[0])
            except ray.exceptions.RayError as err:
                yield refs[done[0]], err
