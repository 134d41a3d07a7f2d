"""Every kernel masterdeck runs, compiled once into numba's on-disk cache, on every core.

numba compiles a kernel on its first call and keeps the machine code on disk
(``cache=True``), so only the first start after an install or an edit under
``dsp/`` compiles; every later start loads. That first compile is over a
minute of one core, so it is split here into jobs: one per stage of the
chain, the meters, dither, the small kernels the chain and the callback are
built of, then the audio callback and what ``render`` and ``analyze`` call
(the chain with automation, the meters, dither), which is also built into
the module of :mod:`dsp.prebuilt` that those commands load without numba.
The jobs run in worker processes side by side, each as
soon as the jobs it builds on are done, longest chain first: numba caches
each function in files of its own, so a worker loads what another compiled.

A job compiles its kernels by calling them once, from Python, on arrays of
the very types the daemon, ``render`` and ``analyze`` pass (numba compiles
per type signature). Jobs only rarer runs need (:attr:`Job.rare`: the
live-input callback, ``Chain.process``) are left to first use unless named.
When the jobs are done a stamp in the cache folder says which, so the
daemon knows the cache is complete without touching numba's files:
:func:`ready`. ``masterdeck compile`` runs :func:`compile_all` with a
progress bar; a daemon that finds the cache incomplete runs it with log
lines, then loads.

Imports here are light; the kernels are imported inside the jobs.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

RATE = 48000
FRAMES = 256
MAX_WORKERS = 4
"""Worker processes at most: the jobs are never wider, and each holds ~0.7 GB compiling."""
STAMP = "masterdeck-kernels.json"

STAGES = ("limiter", "exciter", "eq", "compressor", "stereo", "clipper")


@dataclass(frozen=True)
class Job:
    """A group of kernels compiled together, after the jobs it ``needs``."""

    name: str
    needs: tuple[str, ...]
    cost: float
    """Seconds of one core it took cold on the 2-core development machine: for the order
    of work and the progress bar."""
    what: str
    rare: bool = False
    """Not needed by the daemon, ``render`` or ``analyze`` as they usually run: left to
    first use (or ``masterdeck compile --all``)."""


_CALLBACK_NEEDS = (*STAGES, "chain-parts", "meters", "callback-parts", "translation")
JOBS = (
    Job("limiter", (), 20.0, "true-peak limiter"),
    Job("exciter", (), 13.5, "exciter (oversampled harmonics)"),
    Job("eq", (), 6.0, "EQ"),
    Job("compressor", (), 3.5, "compressor"),
    Job("stereo", (), 2.0, "stereo stage"),
    Job("clipper", (), 10.0, "clipper (16x oversampled)"),
    Job("chain-parts", (), 3.5, "the chain's guards and the automation lanes"),
    Job("meters", (), 2.0, "loudness and true-peak meters"),
    Job("translation", (), 5.0, "translation checks (the monitor's mono, side, devices)"),
    Job("callback-parts", ("translation",), 8.0, "the callback's transport, album timeline, "
        "delay and mix"),
    Job("dither", (), 0.5, "dither"),
    Job("callback", _CALLBACK_NEEDS, 16.0, "the audio callback (with the chain, automation "
        "and meters)"),
    Job("render", (*STAGES, "chain-parts", "meters", "dither"), 9.0,
        "render's and analyze's kernels, prebuilt to load without numba"),
    Job("callback-live", _CALLBACK_NEEDS, 8.0, "the audio callback with live input",
        rare=True),
    Job("chain-pack", (*STAGES, "chain-parts"), 5.0, "the chain as Chain.process runs it",
        rare=True),
    Job("automation", (*STAGES, "chain-parts"), 5.5, "the chain with automation through numba "
        "(render where nothing could be prebuilt)", rare=True),
)
BY_NAME = {job.name: job for job in JOBS}
USUAL = tuple(job.name for job in JOBS if not job.rare)
"""What the daemon (output only), ``render`` and ``analyze`` run."""


# ---- the jobs: each calls its kernels once ----------------------------------------
def _stage(name: str) -> None:
    import numpy as np

    from dsp import params, taps

    module = importlib.import_module(f"dsp.{name}")
    state = module.prepare(RATE)
    target = params.defaults()
    module.process(np.zeros((FRAMES, 2)), target, target.copy(), state, np.zeros(taps.COUNT))
    module.reset(state)


def _meters() -> None:
    import numpy as np

    from dsp.meter import LoudnessMeter

    for channels in (2, 1):
        meter = LoudnessMeter(RATE, channels)
        meter.process(np.zeros((FRAMES, channels)))
        meter.reset()


def _dither() -> None:
    import numpy as np

    from dsp import dither

    errors, rng = dither.prepare(2)
    out = np.zeros((FRAMES, 2), dtype=np.int32)
    dither.quantize(np.zeros((FRAMES, 2)), out, 24, 1, errors, rng, True)


def _chain_pack() -> None:
    import numpy as np

    from dsp.chain import Chain

    Chain(RATE).process(np.zeros((FRAMES, 2)))


def _automation() -> None:
    import numpy as np

    from dsp import automation
    from dsp.chain import Chain

    c = Chain(RATE)
    automation.process(np.zeros((FRAMES, 2)), np.zeros(FRAMES), True, c.values, c.values.copy(),
                       c.current, automation.prepare_ctl(), automation.empty_lanes(),
                       automation.prepare_state(), c.io, c.eq, c.comp, c.exciter, c.stereo,
                       c.limiter, c.taps)


def _translation() -> None:
    import numpy as np

    from dsp import translation

    translation.process(np.zeros((FRAMES, 2)), FRAMES, translation.prepare(RATE), 0)


def _callback_parts() -> None:
    import numpy as np

    from console.engine import callback as cb
    from dsp import player_limiter, translation

    work, other = np.zeros((FRAMES, 2)), np.zeros((FRAMES, 2))
    song = np.zeros((FRAMES, 2), dtype=np.float32)
    ctl, rt = np.zeros(cb.CTL_SIZE), np.zeros(cb.RT_SIZE)
    cb._play_song(work, FRAMES, song, ctl, rt, np.zeros(FRAMES))
    cb._play_reference(other, FRAMES, song, ctl, rt, True)
    cb._delay(other, FRAMES, np.zeros((FRAMES, 2)), rt)
    cb._mix_out(np.zeros(2 * FRAMES, dtype=np.float32), FRAMES, 2, work, other, other, ctl, rt,
                np.zeros((FRAMES, 2)), translation.prepare(RATE), player_limiter.prepare(RATE))
    cb._room_write(np.zeros(2 * FRAMES, dtype=np.float32), FRAMES, 2,
                   np.zeros((4 * FRAMES, 2), dtype=np.float32),
                   np.zeros(cb.ROOM_INDEX_HEAD + cb.ROOM_RECORD), rt)
    _album_parts(ctl, rt, work, other)


def _album_parts(ctl, rt, work, other) -> None:
    """The album timeline's kernels, on a timeline of one silent song."""
    import numpy as np

    from console.engine import albumplay as A
    from console.engine import callback as cb
    from console.engine.timeline import Timeline, TimelineSong
    from dsp import automation
    from dsp.chain import Chain

    main, second = Chain(RATE), Chain(RATE)
    song = TimelineSong("warm", "warm", np.zeros((FRAMES, 2), dtype=np.float32),
                        main.values.copy(), main.current.copy(), automation.prepare_ctl(),
                        automation.empty_lanes(), 0, 0, np.zeros((1, 2)))
    index = Timeline([song], RATE).index
    length = A.length(index)
    latency = main.latency
    st, st2 = automation.prepare_state(), automation.prepare_state()
    rt[[cb.R_MAIN_SERIAL, cb.R_SECOND_SERIAL]] = -1.0
    cb._album_jump(length, ctl, rt)
    cb._assign(index, latency, rt, main._pack.copy(), main._pack, main.current,
               main.values.copy(), st, second._pack, second.current, second.values.copy(), st2)
    A.next_change(index, 0.0, latency)
    fades = np.zeros(FRAMES)
    cb._album_step(FRAMES, length, ctl, rt, fades)
    A.feed(work, np.zeros(FRAMES), FRAMES, 0.0, index, 0, latency)
    A.mix(work, other, other.copy(), fades, FRAMES, 0.0, index, 0, -1)
    A.song_arrays(index, 0, main.values.shape[0], automation.CTL_SIZE)
    A.silence(work, other, 0, 1)
    table = np.zeros((cb.TABLE_ROWS, 2), dtype=np.int64)
    rows = {cb.T_ALBUM0: index, cb.T_PACK: main._pack, cb.T_FRESH: main._pack.copy(),
            cb.T_WORK2: work, cb.T_POSBUF2: np.zeros(FRAMES), cb.T_FADES: fades,
            cb.T_PACK2: second._pack, cb.T_CURRENT2: second.current,
            cb.T_TARGET2: second.values, cb.T_AUTO_ST2: st2}
    for row, array in rows.items():
        table[row] = array.ctypes.data, array.shape[0]
    cb._album_arrays(table, 0)
    cb._second_voice(table)


def _chain_parts() -> None:
    import numpy as np

    from dsp import automation, chain, params, taps

    x, pos, target = np.zeros((FRAMES, 2)), np.zeros(FRAMES), params.defaults()
    io, tap = chain._prepare_io(RATE, 0), np.zeros(taps.COUNT)
    ctl, lanes, st = automation.prepare_ctl(), automation.empty_lanes(), automation.prepare_state()
    chain._input(x, target, target.copy(), io, tap)
    chain._all_finite(x)
    chain._fault(x, io, tap)
    chain._output(x, target, target.copy(), io, tap)
    automation._record_jumps(pos, st)
    automation._begin_block(0.0, target, target.copy(), ctl, lanes, st)
    automation._evaluate(0.0, target, target.copy(), ctl, lanes, st)
    automation._fade(x, pos, ctl)


def _render() -> list[str]:
    """:mod:`dsp.prebuilt`'s module: what render and analyze call, loaded without numba.

    Built unless a current one is there. A machine that cannot build it (no
    C compiler, no Python headers) gets the chain with automation through
    numba instead, which always works, and is told why.
    """
    from dsp import _jit, prebuilt

    if _jit.CACHE_FOLDER is None:  # no cache: nothing to keep the module in
        _automation()
        return []
    if prebuilt.load(_jit.CACHE_FOLDER) is not None:
        return []
    try:
        prebuilt.build(_jit.CACHE_FOLDER)
    except Exception as exc:  # pycc fails in many ways; none may stop the compile
        _automation()
        raise PrebuiltError(f"{type(exc).__name__}: {exc}") from None
    return []


def _render_check() -> list[str]:
    """For ``--check``: the prebuilt module loads, or it is named as missing."""
    from dsp import _jit, prebuilt

    if _jit.CACHE_FOLDER is None or prebuilt.load(_jit.CACHE_FOLDER) is not None:
        return []
    return ["dsp.prebuilt (the module is not built for this install)"]


class PrebuiltError(Exception):
    """The prebuilt module cannot be built here: render and analyze load through numba."""


def _callback(live_input: bool) -> list[str]:
    from console.engine import callback

    cfunc = callback.build_callback(live_input)  # a cfunc compiles without numba's events
    return [] if cfunc.cache_hits else [f"console.engine.callback.{cfunc.__name__} (cfunc)"]


_RUN: dict[str, Callable[[], list[str] | None]] = {
    **{name: (lambda name=name: _stage(name)) for name in STAGES},
    "meters": _meters, "dither": _dither, "callback-parts": _callback_parts,
    "translation": _translation,
    "chain-parts": _chain_parts, "chain-pack": _chain_pack,
    "render": _render, "automation": _automation, "callback": lambda: _callback(False),
    "callback-live": lambda: _callback(True),
}


@dataclass
class Outcome:
    """What one job did in its process."""

    name: str
    seconds: float
    compiled: list[str] = field(default_factory=list)
    """Kernels numba compiled (the rest were loaded from the cache)."""
    problem: str = ""
    """Why the prebuilt module could not be built (the kernels themselves never fail so)."""


def run_job(name: str, checking: bool = False) -> Outcome:
    """Compile (or load) the kernels of job ``name`` in this process.

    ``checking``: build nothing that is not a kernel (the prebuilt module is
    only looked for).
    """
    from numba.core import event

    compiled: list[str] = []

    class _Compiles(event.Listener):
        def on_start(self, ev: event.Event) -> None:
            function = ev.data["dispatcher"].py_func
            if function.__module__.partition(".")[0] in ("dsp", "console"):  # not numba's own
                compiled.append(f"{function.__module__}.{function.__qualname__}")

        def on_end(self, ev: event.Event) -> None:
            pass

    started = time.perf_counter()
    problem = ""
    with event.install_listener("numba:compile", _Compiles()):
        try:
            run = _render_check if checking and name == "render" else _RUN[name]
            compiled += run() or []
        except PrebuiltError as exc:
            problem = str(exc)
    return Outcome(name, time.perf_counter() - started, compiled, problem)


# ---- all of them, side by side -----------------------------------------------------
@dataclass
class Progress:
    """Where :func:`compile_all` is, for a progress bar or a log line."""

    done: int
    total: int
    fraction: float
    """Done so far, in estimated work (jobs weigh their cost)."""
    running: tuple[str, ...]
    finished: Outcome | None = None
    """The job that just finished; None on a periodic update."""


def describe(progress: Progress) -> str:
    """A line for the job just finished: ``[2/12] true-peak limiter: 27 kernels compiled (17 s)``.

    Between jobs (``finished`` None): what is running.
    """
    outcome = progress.finished
    if outcome is None:
        return f"[{progress.done}/{progress.total}] running: {', '.join(progress.running)}"
    how = (f"{len(outcome.compiled)} kernels compiled" if outcome.compiled
           else "loaded from the cache")
    if outcome.problem:
        how += f"; not prebuilt ({outcome.problem}): render and analyze load through numba"
    what = BY_NAME[outcome.name].what
    return f"[{progress.done}/{progress.total}] {what}: {how} ({outcome.seconds:.1f} s)"


def _jobs(names: Iterable[str] | None) -> list[Job]:
    """The jobs named, with every job they need, in the order to start them."""
    wanted: set[str] = set()
    stack = list(names) if names is not None else list(USUAL)
    while stack:
        name = stack.pop()
        if name not in wanted:
            wanted.add(name)
            stack.extend(BY_NAME[name].needs)
    rank: dict[str, float] = {}  # cost of the longest chain of jobs from this one to the end
    for job in reversed(JOBS):  # a job comes after every job it needs
        after = [rank[j.name] for j in JOBS if job.name in j.needs and j.name in wanted]
        rank[job.name] = job.cost + max(after, default=0.0)
    return sorted((BY_NAME[n] for n in wanted), key=lambda job: -rank[job.name])


def compile_all(report: Callable[[Progress], None] | None = None, *,
                names: Iterable[str] | None = None, workers: int | None = None) -> list[Outcome]:
    """Run the jobs (:data:`USUAL`, or ``names``) and what they need, in parallel; stamp.

    ``report`` gets a :class:`Progress` when a job finishes, and a few times a
    second in between. Raises :class:`~dsp.errors.MasterdeckError` if a worker
    dies (Ctrl-C, say); what finished stays cached.
    """
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool
    from multiprocessing import get_context

    from dsp.errors import MasterdeckError

    jobs = _jobs(names)
    total_cost = sum(job.cost for job in jobs)
    workers = max(1, min(workers or os.cpu_count() or 1, MAX_WORKERS, len(jobs)))
    done: dict[str, Outcome] = {}
    running: dict[Future, tuple[Job, float]] = {}
    started = time.monotonic()

    def tell(finished: Outcome | None) -> None:
        if report is None:
            return
        finished_cost = sum(BY_NAME[name].cost for name in done)
        took = sum(outcome.seconds for outcome in done.values())
        pace = took / finished_cost if finished_cost else 1.0  # this machine against the costs
        now = time.monotonic()
        partly = sum(min((now - t) / (pace * job.cost), 0.9) * job.cost
                     for job, t in running.values())
        report(Progress(len(done), len(jobs), min((finished_cost + partly) / total_cost, 1.0),
                        tuple(job.name for job, _ in running.values()), finished))

    if workers == 1:  # one core: no point in another process
        for job in jobs:
            running[Future()] = (job, time.monotonic())
            tell(None)
            outcome = run_job(job.name)
            running.clear()
            done[job.name] = outcome
            tell(outcome)
    else:
        pending = list(jobs)
        try:
            with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
                while pending or running:
                    for job in [j for j in pending if all(n in done for n in j.needs)]:
                        if len(running) == workers:
                            break
                        pending.remove(job)
                        running[pool.submit(run_job, job.name)] = (job, time.monotonic())
                    finished, _ = wait(running, timeout=0.25, return_when=FIRST_COMPLETED)
                    for future in finished:
                        job, _ = running.pop(future)
                        done[job.name] = future.result()
                        tell(done[job.name])
                    if not finished:
                        tell(None)
        except BrokenProcessPool:
            raise MasterdeckError("compiling the kernels stopped: a worker process died "
                                  "(what finished is cached)") from None
    _write_stamp([job.name for job in jobs], time.monotonic() - started)
    return [done[job.name] for job in jobs]


def check(names: Iterable[str] | None = None) -> list[Outcome]:
    """Run the jobs one after the other in this process; each outcome lists what compiled.

    On a complete cache nothing compiles: every kernel loads.
    """
    return [run_job(job.name, checking=True) for job in _jobs(names)]


# ---- the stamp ----------------------------------------------------------------------
def cache_folder() -> Path | None:
    """The folder of numba's cache (named after a hash of ``dsp/``), or None without one."""
    import numba

    import dsp._jit  # noqa: F401  (points numba's cache at masterdeck's folder)

    return Path(numba.config.CACHE_DIR) if numba.config.CACHE_DIR else None


def _key() -> dict[str, object]:
    """What the cached machine code depends on: the sources, numba, Python and the CPU.

    The sources: ``dsp/`` (its hash names the cache folder) and the callback's
    modules, whose kernels numba caches beside the DSP's, and where they are:
    numba files its cache under each source file's full path, so a second
    checkout (or an installed wheel) beside this one finds nothing of it.
    """
    import hashlib

    import numba
    from numba.core.registry import cpu_target

    from dsp import _jit

    callback = hashlib.sha256()
    for name in ("callback.py", "rtintrinsics.py"):
        callback.update((Path(__file__).parent / name).read_bytes())
    return {"sources": _jit.source_hash(), "callback": callback.hexdigest()[:16],
            "where": [str(Path(_jit.__file__).resolve().parent), str(Path(__file__).parent)],
            "numba": numba.__version__, "python": "{}.{}".format(*sys.version_info[:2]),
            "target": [str(part) for part in cpu_target.target_context.codegen().magic_tuple()]}


def ready(names: Iterable[str] | None = None) -> bool:
    """True when :func:`compile_all` has run these jobs for these sources, numba and CPU.

    ``names``: :data:`USUAL` if None. Without a cache folder of numba's there
    is nothing to fill: True.
    """
    folder = cache_folder()
    if folder is None:
        return True
    try:
        stamp = json.loads((folder / STAMP).read_text())
    except (OSError, ValueError):
        return False
    wanted = {job.name for job in _jobs(names)}
    return stamp.get("key") == _key() and set(stamp.get("jobs", ())) >= wanted


def _write_stamp(jobs: list[str], seconds: float) -> None:
    """Note ``jobs`` as done, beside those done before with the same key."""
    folder = cache_folder()
    if folder is None:
        return
    key = _key()
    try:
        before = json.loads((folder / STAMP).read_text())
    except (OSError, ValueError):
        before = {}
    done = set(jobs) | (set(before.get("jobs", ())) if before.get("key") == key else set())
    stamp = {"key": key, "jobs": sorted(done), "seconds": round(seconds, 1),
             "written": time.strftime("%Y-%m-%dT%H:%M:%S")}
    temporary = folder / f".{STAMP}.{os.getpid()}"
    try:
        temporary.write_text(json.dumps(stamp, indent=1) + "\n")
        os.replace(temporary, folder / STAMP)
    except OSError:  # a read-only cache: the next start compiles (or loads) again
        temporary.unlink(missing_ok=True)
