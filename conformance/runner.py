"""Running the catalogue on backends: one honest outcome per (backend, case).

The backend's own support answer decides first: a case whose aspect (forward, or gradient) the
backend declares unsupported is never run and is reported with the adapter's reason. Anything
raised while building or running a case becomes an ``error`` outcome and the suite goes on with
the next case. The reference expectation of a case is computed once and shared by all backends.
"""

from __future__ import annotations

import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from step.backend import Backend
from step.conformance.cases import Case
from step.conformance.compare import (
    Divergence,
    Verdict,
    compare_close,
    compare_gradient,
    compare_rates,
    compare_spikes,
)
from step.conformance.expect import Expected, expected
from step.conformance.modes import MODES, Seen
from step.conformance.placement import Placed
from step.conformance.policy import AUTOCAST, TOLERANCES, Status, torch_dtype
from step.support import Level, Support


@dataclass
class CaseResult:
    """The outcome of one case on one backend (a row of the report's ``results``)."""

    backend: str
    case: Case
    status: Status
    detail: str
    support: Support | None = None
    divergence: Divergence | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    trace: dict[str, Any] | None = None  # one neuron's traces, for the report's plots

    def to_dict(self) -> dict[str, Any]:
        """The JSON row (see :data:`step.conformance.report_json.SCHEMA_DOC`)."""
        return {
            "backend": self.backend, "case": self.case.id, "feature": self.case.feature,
            "status": self.status.value, "detail": self.detail, "aspect": self.case.aspect,
            "mode": self.case.mode, "dtype": self.case.dtype, "kind": self.case.spec.kind,
            "support": self.support.to_dict() if self.support else None,
            "divergence": self.divergence.to_dict() if self.divergence else None,
            "notes": list(self.notes), "seconds": round(self.seconds, 4),
            "seed": self.case.seed,
        }


#: Backends whose library has been imported (a first build never runs under float64 default,
#: lest the library create module-level tensors in float64 on import).
_IMPORTED: set[str] = set()


@contextmanager
def default_dtype(dtype: torch.dtype) -> Iterator[None]:
    """Build modules with ``dtype`` as torch's default, so parameters initialised from Python
    floats (PLIF ``w0 = -ln(tau - 1)``) are not rounded to float32 before a float64 run."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(before)


def _level(support: Support, aspect: str) -> tuple[Level, str]:
    """The support level that applies to a case, and its 'how' text."""
    if aspect == "forward" or support.forward is Level.UNSUPPORTED:
        return support.forward, support.forward_how
    worse = max(support.forward, support.gradient, key=lambda lv: lv.rank)
    how = support.gradient_how if worse is support.gradient else support.forward_how
    return worse, how


def judge(case: Case, exp: Expected, seen: Seen, support: Support | None = None) -> Verdict:
    """Compare what a mode saw with the reference under the dtype's tolerance.

    A gradient that misses the dtype's tolerance but meets the tolerance of the precision the
    adapter declares for its library's backward (``Support.gradient_precision``) passes with a
    note naming that declared limitation.
    """
    tol = TOLERANCES[case.dtype]
    verdict = Verdict()
    horizon = case.horizon
    if horizon is not None and horizon < exp.spikes.shape[0]:
        for obs in seen.observations:
            verdict = verdict.merge(compare_rates(obs.spikes, exp.spikes[:, obs.rows], horizon,
                                                  obs.where))
        if not verdict.ok:
            return verdict
        exp, seen = before_horizon(exp, seen, horizon)
    for obs in seen.observations:
        rows = obs.rows
        if case.spec.output == "membrane":  # a readout's output is a membrane: compared as one
            spikes = compare_close("output", obs.spikes, exp.spikes[:, rows], tol.membrane_atol,
                                   tol.membrane_rtol, where=obs.where)
            valid = torch.ones_like(exp.spikes[:, rows], dtype=torch.bool)
        else:
            spikes, valid = compare_spikes(obs.spikes, exp.spikes[:, rows], exp.margin[:, rows],
                                           tol, strict=case.strict_threshold, where=obs.where)
        verdict = verdict.merge(spikes)
        if not verdict.ok:
            return verdict
        verdict = verdict.merge(compare_close(
            "membrane", obs.v_seq, exp.v[:, rows], tol.membrane_atol, tol.membrane_rtol,
            valid=valid, where=obs.where))
        if obs.final_v is not None or exp.final_v is not None:
            verdict = verdict.merge(compare_close(
                "final membrane", obs.final_v, exp.final_v[rows], tol.membrane_atol,
                tol.membrane_rtol, valid=valid[-1], where=obs.where, timed=False))
        if not verdict.ok:
            return verdict
    for check in seen.checks:
        verdict = verdict.merge(check)
    if not verdict.ok or not seen.grads:
        return verdict
    if verdict.flips:
        verdict.notes.append("gradients not compared: a spike flipped near threshold first")
        return verdict
    declared = support.gradient_precision if support is not None else None
    for name, got in seen.grads.items():
        check = compare_gradient(name, got, exp.grads[name], tol, timed=name == "x")
        if not check.ok and declared in TOLERANCES and declared != case.dtype:
            coarse = compare_gradient(name, got, exp.grads[name], TOLERANCES[declared],
                                      timed=name == "x")
            if coarse.ok:
                coarse.notes.append(
                    f"gradient of {name} within {declared} tolerance only: "
                    f"{support.precision_how} (declared by the adapter)")
                check = coarse
        verdict = verdict.merge(check)
        if not verdict.ok:
            break
    return verdict


def before_horizon(exp: Expected, seen: Seen, horizon: int) -> tuple[Expected, Seen]:
    """Both sides cut to the first ``horizon`` steps; the final membrane is not compared."""
    cut = Expected(exp.x[:horizon], exp.spikes[:horizon], exp.v[:horizon],
                   exp.margin[:horizon], None, exp.grads)  # type: ignore[arg-type]
    observations = [replace(o, spikes=o.spikes[:horizon], final_v=None,
                            v_seq=None if o.v_seq is None else o.v_seq[:horizon])
                    for o in seen.observations]
    return cut, Seen(observations, seen.grads, seen.checks)


def _trace(case: Case, exp: Expected, seen: Seen, verdict: Verdict) -> dict[str, Any]:
    """One neuron's input, spikes, membrane (and input gradient) from both sides, for plots.

    For a failing case: the run (``where``) and the neuron of the first divergence, so the
    plot shows where the backend parts from the reference (a state-reset failure in the
    second run plots that run); otherwise, or when the divergence has no neuron index (a
    parameter's gradient), the reference's busiest neuron.
    """
    div = verdict.divergence
    obs = seen.observations[0]
    if div is not None:
        obs = next((o for o in seen.observations if o.where == div.where), obs)
    if div is not None and len(div.index) == exp.x.dim() - 1 and div.where in ("", obs.where):
        index = div.index
    else:  # the busiest neuron of the reference: a plot worth looking at
        counts = exp.spikes[:, obs.rows].sum(0)
        index = tuple(int(i) for i in torch.unravel_index(counts.argmax(), counts.shape))
    ref_rows = exp.x[:, obs.rows]

    def column(t: Any) -> list[float] | None:
        try:
            return [float(v) for v in t.detach()[(slice(None), *index)].reshape(-1)]
        except (IndexError, RuntimeError, AttributeError, TypeError):
            return None

    out = {
        "index": list(index), "where": obs.where, "v_threshold": case.spec.v_threshold,
        "x": column(ref_rows), "s_ref": column(exp.spikes[:, obs.rows]),
        "v_ref": column(exp.v[:, obs.rows]), "s_got": column(obs.spikes),
        "v_got": column(obs.v_seq) if obs.v_seq is not None else None,
        "first_t": div.t if div is not None else None,
    }
    if "x" in seen.grads and seen.grads["x"] is not None and "x" in exp.grads:
        out["g_ref"], out["g_got"] = column(exp.grads["x"]), column(seen.grads["x"])
    return out


def _error_text(err: BaseException) -> str:
    """``Type: message (at file:line)``: where in the backend it broke, in one line."""
    frames = traceback.extract_tb(err.__traceback__)
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    message = " ".join(str(err).split())
    return f"{type(err).__name__}: {message}{where}"


def run_case(backend: Backend, case: Case, exp: Expected | BaseException,
             device: str = "cpu") -> CaseResult:
    """Judge ``backend`` on ``case`` against the precomputed reference ``exp``, with the
    backend's module on ``device`` (the reference and the judging stay on the CPU)."""
    start = time.perf_counter()
    name = backend.name

    def result(status: Status, detail: str, **kw: Any) -> CaseResult:
        return CaseResult(name, case, status, detail, seconds=time.perf_counter() - start, **kw)

    try:
        support = backend.neuron_support(case.spec)
    except Exception as err:  # a broken adapter is a finding, not a crash of the suite
        return result(Status.ERROR, f"neuron_support raised {_error_text(err)}")
    level, how = _level(support, case.aspect)
    if level is Level.UNSUPPORTED:
        return result(Status.UNSUPPORTED, f"{case.aspect} unsupported: {how}", support=support)
    if isinstance(exp, BaseException):
        return result(Status.ERROR, f"the reference could not compute this case: "
                                    f"{_error_text(exp)}", support=support)
    dtype = torch_dtype(case.dtype)
    try:
        if name not in _IMPORTED and dtype != torch.get_default_dtype():
            backend.build_neuron(case.spec)  # import the library under the usual default dtype
        _IMPORTED.add(name)
        with default_dtype(dtype):
            neuron = backend.build_neuron(case.spec)
        neuron.to(dtype)
        if device != "cpu" or case.dtype == AUTOCAST:
            neuron = Placed(neuron, device, case.dtype == AUTOCAST, dtype)
        neuron.record_v = True
        seen = MODES[case.mode](neuron, exp, case)
        verdict = judge(case, exp, seen, support)
        trace = _trace(case, exp, seen, verdict)
    except Exception as err:
        return result(Status.ERROR, _error_text(err), support=support)
    emulated = level is Level.EMULATED
    how_text = f" [{case.aspect} emulated: {how}]" if emulated else ""
    if verdict.divergence is not None:
        return result(Status.FAIL, verdict.divergence.describe() + how_text, support=support,
                      divergence=verdict.divergence, notes=verdict.notes, trace=trace)
    if emulated:
        detail = f"matches the reference; {case.aspect} emulated: {how}"
        if verdict.notes:
            detail += "; " + "; ".join(verdict.notes)
        return result(Status.EMULATED_PASS, detail, support=support, notes=verdict.notes,
                      trace=trace)
    if verdict.notes:
        return result(Status.PASS_NOTED, "; ".join(verdict.notes), support=support,
                      notes=verdict.notes, trace=trace)
    detail = "matches the reference"
    if case.horizon is not None and case.horizon < case.T:
        detail += (f" step for step up to t={case.horizon - 1}, in firing rate after "
                   f"(the {case.dtype} horizon of this case)")
    return result(Status.PASS, detail, support=support, trace=trace)


@dataclass
class SuiteReport:
    """Everything a run of the suite found; rendered by the report modules."""

    environment: dict[str, Any]
    backends: dict[str, dict[str, Any]]
    results: list[CaseResult]
    cases: list[Case]
    dtypes: list[str]
    pattern: str | None
    seconds: float

    @property
    def failed(self) -> bool:
        """Whether any case failed or errored (``step conformance`` exits with 1)."""
        return any(r.status.failed for r in self.results)

    def counts(self) -> dict[str, dict[str, int]]:
        """{backend: {status: count}} with every status present (zeros included)."""
        out: dict[str, dict[str, int]] = {}
        for name in self.backends:
            c = Counter(r.status for r in self.results if r.backend == name)
            if self.backends[name].get("available"):
                out[name] = {s.value: c.get(s, 0) for s in Status}
        return out


def run_suite(
    backends: Sequence[Backend], cases: Sequence[Case],
    on_result: Callable[[CaseResult], None] | None = None,
    backend_info: dict[str, dict[str, Any]] | None = None, pattern: str | None = None,
    workers: int = 1, device: str = "cpu", ray: Any = None,
) -> SuiteReport:
    """Run every case on every backend; ``on_result`` sees each outcome as it comes.

    ``workers > 1`` splits the cases over that many processes (each computes its cases'
    expectations and runs them on every backend, found again by name in the worker); the
    results come back in the same order as with one process. Backends registered by hand
    (:func:`step.registry.register_plugin`) exist only in this process: use one worker.
    ``ray`` (an open :class:`step.executor.RayPool`) does the same with Ray tasks instead of
    processes; a chunk whose task failed after its retries is an ``error`` row per case.
    ``device`` is where the backends' modules run (the reference stays on the CPU).
    """
    from step.conformance.report_json import environment

    start = time.perf_counter()
    if ray is not None:
        results = _run_on_ray(ray, backends, cases, on_result, device)
    elif workers > 1 and len(cases) > 1:
        results = _run_parallel(backends, cases, on_result, workers, device)
    else:
        results = []
        cache: dict[str, Expected | BaseException] = {}
        for backend in backends:
            for case in cases:
                if case.id not in cache:
                    cache[case.id] = _expect(case)
                res = run_case(backend, case, cache[case.id], device)
                results.append(res)
                if on_result is not None:
                    on_result(res)
    info = dict(backend_info or {})
    from step.registry import plugin_record

    for b in backends:
        info.setdefault(b.name, {"version": b.version(), "available": True, "reason": "",
                                 "library": b.library, **plugin_record(b.name)})
    dtypes = sorted({c.dtype for c in cases}, key=lambda d: d != "float32")
    return SuiteReport(environment(info), info, results, list(cases), dtypes, pattern,
                       time.perf_counter() - start)


def _expect(case: Case) -> Expected | BaseException:
    try:
        return expected(case)
    except Exception as err:  # reported per backend as the reference's error
        return err


def _run_chunk(names: list[str], cases: list[Case], device: str = "cpu") -> list[CaseResult]:
    """A worker's share: its cases on every backend, in (backend, case) order."""
    from step.registry import get_backend

    torch.set_num_threads(1)
    exps = [_expect(c) for c in cases]
    return [run_case(get_backend(n), c, e, device) for n in names
            for c, e in zip(cases, exps, strict=True)]


def _chunks(cases: Sequence[Case], n: int) -> list[list[Case]]:
    """``n`` interleaved chunks: the costly kinds (HH) are spread over every worker."""
    return [list(cases[i::n]) for i in range(min(len(cases), n))]


def _in_order(results: list[CaseResult], names: list[str],
              cases: Sequence[Case]) -> list[CaseResult]:
    order = {(b, c.id): k for k, (b, c) in enumerate((b, c) for b in names for c in cases)}
    return sorted(results, key=lambda r: order[r.backend, r.case.id])


def _run_parallel(backends: Sequence[Backend], cases: Sequence[Case],
                  on_result: Callable[[CaseResult], None] | None,
                  workers: int, device: str = "cpu") -> list[CaseResult]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    names = [b.name for b in backends]
    results: list[CaseResult] = []
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = [pool.submit(_run_chunk, names, ch, device)
                   for ch in _chunks(cases, workers * 4)]
        for future in as_completed(futures):
            for res in future.result():
                results.append(res)
                if on_result is not None:
                    on_result(res)
    return _in_order(results, names, cases)


def _run_on_ray(pool: Any, backends: Sequence[Backend], cases: Sequence[Case],
                on_result: Callable[[CaseResult], None] | None,
                device: str) -> list[CaseResult]:
    """The chunks of :func:`_run_parallel` as Ray tasks (one CPU, one GPU on cuda), one
    chunk per backend and quarter of the cluster's CPUs, so that a chunk that fails for good
    fails one backend's cases, not every backend's."""
    from step.executor import error_line, resources

    names = [b.name for b in backends]
    jobs = [([n], ch, device) for n in names for ch in _chunks(cases, pool.cpus() * 4)]
    results: list[CaseResult] = []
    for k, got in pool.run(_run_chunk, jobs, [resources(device)] * len(jobs)):
        if isinstance(got, BaseException):
            (name,), chunk, _ = jobs[k]
            line = f"the Ray task running these cases failed: {error_line(got)}"
            got = [CaseResult(name, c, Status.ERROR, line) for c in chunk]
        for res in got:
            results.append(res)
            if on_result is not None:
                on_result(res)
    return _in_order(results, names, cases)
