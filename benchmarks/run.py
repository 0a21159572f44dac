"""gridsim benchmarks: lifecycle throughput per policy and engine overhead against plain SimPy.

    python benchmarks/run.py            # full: one year of each scenario, 200,000 customers
    python benchmarks/run.py --quick    # smoke run: short horizons, 20,000 customers
    python benchmarks/run.py --no-scaling  # without the one-street/district/megacity runs
    python benchmarks/run.py --repeat 3 # the fastest of three runs of each measurement
    python benchmarks/run.py --no-scaling --optimiser  # with the optimiser vs exhaustive search
    python benchmarks/run.py --no-scaling --planner    # with a planner's comparison (issue 19)
    python benchmarks/run.py --no-scaling --beijing    # with Beijing's year (issue 19)

(a) Lifecycle throughput: the bundled default scenario under each policy (baseline, whistle,
    four_tier), one seed: wall time of ``gridsim.simulate()``, issues per second, SimPy events
    and peak memory.
(b) Engine overhead: gridsim on ``scenarios/validation/mmc.yaml`` (one community pool that is an
    M/M/c queue) against ``benchmarks/mmc_simpy.py`` (a minimal idiomatic SimPy M/M/c) on the
    same λ = 9 /h, μ = 1 /h, c = 10 and number of customers (gridsim's horizon is set so that
    λ × horizon is that number); the ratio of their wall times per customer is what gridsim's
    generality costs. gridsim's time includes building its result tables.
(c) Scaling: ``scenarios/bench/`` one street and one district for a year, and the megacity
    (15 districts, about 9.7 million cases a year) sharded one district per shard on 2 local
    processes, all recording KPIs only: wall time, cases per second, process-seconds per case
    (wall time × processes / cases) relative to the one-street run, and peak memory of all
    processes together.
(d) The staffing optimiser (``--optimiser``; :mod:`optimiser`): on the Jackson tandem, whose
    cheapest allocation meeting a mean-time target is known from the formula, how often the
    search finds it over 10 base seeds and the replications it spends, against exhaustive
    search of all 25 allocations (2 seeds and a shorter horizon with ``--quick``).
(e) A planner's comparison (``--planner``): ``gridsim.compare()`` of the three policies x 30
    replications of the default scenario's year on 2 worker processes (target 30 s wall);
    with ``--quick`` 3 replications of 14 days, and then also whether its ``runs`` table is
    equal, bit for bit, to the one from ``workers=1`` (not measured in the full run: it would
    double the time). Memory: the peak of all processes together, as for scaling runs.
(f) Beijing's year (``--beijing``): ``scenarios/bench/beijing.yaml`` (16 districts, about
    21.9 million cases a year) recording KPIs only, one shard per district on 2 local
    processes like the megacity (target 300 s wall and under 4 GiB for all processes); 2 days
    with ``--quick`` (``--beijing-horizon`` sets it).

Every measurement runs in a fresh process (multiprocessing, spawn), so peak memory is that one
run's: ``getrusage(RUSAGE_SELF).ru_maxrss`` of the child, the resident-set high-water mark,
interpreter and imports included (the JSON also has the mark just before the run). The table is
printed and written as JSON (default ``results/bench/latest.json``; ``results/`` is gitignored).
Timings are of one run per measurement (``--repeat N``: the fastest of N) on this machine;
compare them between commits on the same machine only, with nothing else running.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import multiprocessing as mp
import platform
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MMC_SCENARIO = ROOT / "scenarios" / "validation" / "mmc.yaml"
DEFAULT_JSON = ROOT / "results" / "bench" / "latest.json"
POLICIES = ("baseline", "whistle", "four_tier")
LAM, MU, C = 9.0, 1.0, 10
SEED = 1
SCALING_RECORD: dict[str, Any] = {"record.level": "kpis"}
"""Scaling runs keep KPIs only (bounded memory: a megacity year's case rows would not fit)."""
MEMORY_METHOD = ("peak RSS: getrusage(RUSAGE_SELF).ru_maxrss of a fresh spawned process per "
                 "measurement (interpreter and imports included); for scaling, planner and "
                 "Beijing runs also the peak of the summed RSS of that process and its shard or "
                 "replication workers (psutil, sampled every 50 ms)")


# --------------------------------------------------------------------------- in the child
def _peak_rss_mib() -> float | None:
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, else KiB


def _lifecycle(policy: str, horizon: str | None, warmup: str | None, seed: int) -> dict[str, Any]:
    import gridsim

    overrides: dict[str, Any] = {"policy.name": policy}
    if horizon:
        overrides.update(horizon=horizon, warmup=warmup)
    scenario = gridsim.load_scenario().with_overrides(overrides)
    rss_before = _peak_rss_mib()
    t0 = time.perf_counter()
    result = gridsim.simulate(scenario, seed=seed)
    wall = time.perf_counter() - t0
    return {"issues": len(result.issues), "events": int(result.manifest["events"]),
            "wall_s": wall, "horizon": str(scenario.horizon),
            "rss_before_run_mib": rss_before, "peak_rss_mib": _peak_rss_mib()}


class _TreeMemory:
    """Peak resident memory of this process and all its children (shard workers) together,
    sampled every ``every`` seconds on a background thread (psutil)."""

    def __init__(self, every: float = 0.05):
        import threading

        import psutil

        self._me = psutil.Process()
        self._psutil = psutil
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)

    def _sample(self) -> int:
        total = 0
        for p in [self._me, *self._me.children(recursive=True)]:
            with contextlib.suppress(self._psutil.Error):  # a worker that just exited
                total += p.memory_info().rss
        return total

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            self.peak = max(self.peak, self._sample())

    def __enter__(self) -> _TreeMemory:
        self.peak = self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._sample())


def _scaling(name: str, horizon: str, shards: int | str, seed: int,
             workers: int = 1) -> dict[str, Any]:
    import gridsim

    overrides = {"horizon": horizon, "warmup": "0d", **SCALING_RECORD}
    scenario = gridsim.load_scenario(ROOT / "scenarios" / "bench" / f"{name}.yaml", overrides)
    rss_before = _peak_rss_mib()
    with _TreeMemory() as tree:
        t0 = time.perf_counter()
        result = gridsim.simulate(scenario, seed=seed, shards=shards, workers=workers)
        wall = time.perf_counter() - t0
    m = result.manifest
    return {"issues": int(m["issues_created"]), "events": int(m["events"]), "wall_s": wall,
            "horizon": str(scenario.horizon), "shards": m["shards"],
            "rss_before_run_mib": rss_before, "peak_rss_mib": _peak_rss_mib(),
            "peak_rss_tree_mib": tree.peak / 2**20}


def _planner(horizon: str | None, warmup: str | None, replications: int, workers: int,
             check_serial: bool, seed: int) -> dict[str, Any]:
    """A planner's comparison: the three policies x ``replications`` of the default scenario
    on ``workers`` processes; with ``check_serial`` also whether ``workers=1`` gives the same
    ``runs`` table bit for bit (the same seeds: results must not depend on the worker count)."""
    import gridsim

    scenario = gridsim.load_scenario()
    if horizon:
        scenario = scenario.with_overrides({"horizon": horizon, "warmup": warmup})
    rss_before = _peak_rss_mib()
    with _TreeMemory() as tree:
        t0 = time.perf_counter()
        exp = gridsim.compare(scenario, list(POLICIES), replications, seed, workers=workers)
        wall = time.perf_counter() - t0
    runs = exp.runs
    identical = None
    if check_serial:
        identical = bool(runs.equals(
            gridsim.compare(scenario, list(POLICIES), replications, seed, workers=1).runs))
    return {"issues": int(runs["cases"].sum()), "events": None, "wall_s": wall,
            "horizon": str(scenario.horizon), "replications": replications,
            "workers": workers, "runs_identical_to_workers_1": identical,
            "rss_before_run_mib": rss_before, "peak_rss_mib": _peak_rss_mib(),
            "peak_rss_tree_mib": tree.peak / 2**20}


def _gridsim_mmc(customers: int, seed: int) -> dict[str, Any]:
    import gridsim

    horizon_h = math.ceil(customers / LAM)
    base = gridsim.load_scenario(MMC_SCENARIO)
    overrides: dict[str, Any] = {
        "horizon": f"{horizon_h}h",
        "categories.calls.rates.hotline.value": LAM,
        "categories.calls.work.community.mean": f"{1 / MU:g}h",
        "streets.staff.community_per_community": C,
    }
    if base.warmup.hours >= horizon_h:
        overrides["warmup"] = f"{horizon_h // 10}h"
    scenario = base.with_overrides(overrides)
    rss_before = _peak_rss_mib()
    t0 = time.perf_counter()
    result = gridsim.simulate(scenario, seed=seed)
    wall = time.perf_counter() - t0
    i = result.issues
    done = i[(i["t_created"] >= scenario.warmup.hours) & (i["state"] == "closed")]
    sojourn = (done["t_leave_community"] - done["t_enter_community"]).mean()
    return {"issues": len(i), "events": int(result.manifest["events"]), "wall_s": wall,
            "horizon": f"{horizon_h}h", "mean_wait_h": float(sojourn) - 1 / MU,
            "rss_before_run_mib": rss_before, "peak_rss_mib": _peak_rss_mib()}


def _simpy_mmc(customers: int, seed: int) -> dict[str, Any]:
    import mmc_simpy  # benchmarks/ is on sys.path: it is the script's folder

    rss_before = _peak_rss_mib()
    seconds, mean_wait = mmc_simpy.run(LAM, MU, C, customers, seed)
    return {"issues": customers, "events": None, "wall_s": seconds, "mean_wait_h": mean_wait,
            "rss_before_run_mib": rss_before, "peak_rss_mib": _peak_rss_mib()}


# --------------------------------------------------------------------------- in the parent
def _in_fresh_process(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """``fn(*args)`` in a new spawned interpreter, so its memory high-water mark is its own."""
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def _best_of(repeat: int, fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """The fastest of ``repeat`` runs, each in a fresh process, with every wall time kept."""
    runs = [_in_fresh_process(fn, *args) for _ in range(repeat)]
    best = min(runs, key=lambda r: r["wall_s"])
    return {**best, "wall_s_all": [round(r["wall_s"], 4) for r in runs]}


def _rss(row: dict[str, Any]) -> str:
    peak, before = row.get("peak_rss_mib"), row.get("rss_before_run_mib")
    return "–" if peak is None else f"{peak:,.0f} ({before:,.0f})"


def _fmt(value: Any, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return format(value, spec)


def measure(quick: bool, customers: int, seed: int, repeat: int,
            console: Console, scaling: bool = False,
            megacity_horizon: str | None = None, optimiser: bool = False,
            planner: bool = False, beijing: bool = False,
            beijing_horizon: str | None = None) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    horizon, warmup = ("14d", "2d") if quick else (None, None)
    for policy in POLICIES:
        console.print(f"lifecycle: default scenario, policy {policy} …", style="dim")
        r = _best_of(repeat, _lifecycle, policy, horizon, warmup, seed)
        rows.append({"benchmark": "lifecycle", "name": f"default · {policy}",
                     "workload": f"horizon {r['horizon']}", **r})

    mmc_note = f"λ={LAM:g} μ={MU:g} c={C}, {customers:,} customers"
    erlang_c = _erlang_c_wait()
    gridsim_row: dict[str, Any] | None = None
    if MMC_SCENARIO.exists():
        console.print("engine: gridsim on mmc.yaml …", style="dim")
        try:
            r = _best_of(repeat, _gridsim_mmc, customers, seed)
        except Exception as e:  # e.g. the scenario's layout changed: report, don't crash
            skip = f"skipped: {type(e).__name__}: {str(e).splitlines()[0][:120]}"
            console.print(f"[yellow]gridsim M/M/c {skip}[/]")
            rows.append({"benchmark": "engine", "name": "gridsim mmc.yaml", "workload": mmc_note,
                         "skipped": skip})
        else:
            gridsim_row = {"benchmark": "engine", "name": "gridsim mmc.yaml",
                           "workload": f"{mmc_note}, horizon {r['horizon']}", **r}
            rows.append(gridsim_row)
    else:
        skip = f"skipped: {MMC_SCENARIO.relative_to(ROOT)} does not exist (yet)"
        console.print(f"[yellow]gridsim M/M/c {skip}[/]")
        rows.append({"benchmark": "engine", "name": "gridsim mmc.yaml", "workload": mmc_note,
                     "skipped": skip})
    console.print("engine: plain SimPy M/M/c …", style="dim")
    simpy_row = {"benchmark": "engine", "name": "SimPy mmc_simpy.py", "workload": mmc_note,
                 **_best_of(repeat, _simpy_mmc, customers, seed)}
    rows.append(simpy_row)
    if scaling:
        year = "14d" if quick else "365d"
        megacity_horizon = megacity_horizon or ("2d" if quick else "365d")
        # the megacity: one shard per district (15) on 2 processes; a shard of several
        # districts costs more per case (more live cases per process: 33-38 µs against
        # 37-50 µs of CPU per case for 1 and 4 districts, measured), so 'auto' beats 2 shards
        # of 7-8 districts
        for name, horizon, shards, workers in (("one_street", year, 1, 1),
                                               ("one_district", year, 1, 1),
                                               ("megacity", megacity_horizon, "auto", 2)):
            console.print(f"scaling: {name} ({horizon}, {shards} shard(s) on {workers} "
                          "process(es)) …", style="dim")
            r = _best_of(repeat, _scaling, name, horizon, shards, seed, workers)
            where = f"{r['shards']} shard(s) on {workers} process(es)"
            rows.append({"benchmark": "scaling", "name": name, "processes": workers,
                         "workload": f"horizon {r['horizon']}, {where}", **r})
    if planner:
        replications = 3 if quick else 30
        console.print(f"planner: compare {len(POLICIES)} policies x {replications} replications "
                      "on 2 processes …", style="dim")
        r = _best_of(repeat, _planner, horizon, warmup, replications, 2, quick, seed)
        same = {True: "yes", False: "[red]NO[/]",
                None: "not measured (full run: it doubles the time)"}
        rows.append({"benchmark": "planner", "name": f"compare · {len(POLICIES)} policies",
                     "workload": f"default, horizon {r['horizon']}, {len(POLICIES)} policies × "
                                 f"{replications} replications, workers=2; runs table = "
                                 f"workers=1's: {same[r['runs_identical_to_workers_1']]}",
                     "target": "≤ 30 s wall", "target_met": None if quick else r["wall_s"] <= 30,
                     **r})
    if beijing:
        beijing_horizon = beijing_horizon or ("2d" if quick else "365d")
        console.print(f"beijing: beijing.yaml ({beijing_horizon}, a shard per district on 2 "
                      "processes) …", style="dim")
        r = _best_of(repeat, _scaling, "beijing", beijing_horizon, "auto", seed, 2)
        full = beijing_horizon == "365d"
        rows.append({"benchmark": "beijing", "name": "beijing", "processes": 2,
                     "workload": f"horizon {r['horizon']}, {r['shards']} shard(s) on 2 "
                                 "process(es), record kpis",
                     "target": "≤ 300 s wall, < 4 GiB all processes",
                     "target_met": (r["wall_s"] <= 300 and r["peak_rss_tree_mib"] < 4096)
                     if full else None, **r})
    small = next((r for r in rows if r.get("name") == "one_street"), None)
    for r in rows:  # process-seconds per case: a sharded run's processes all count
        if small and "processes" in r:
            r["s_per_issue_vs_smallest"] = ((r["wall_s"] * r["processes"] / r["issues"])
                                            / (small["wall_s"] / small["issues"]))
    if optimiser:
        import optimiser as opt_bench

        console.print("optimiser: search and exhaustive search on the Jackson tandem …",
                      style="dim")
        rows += opt_bench.run(2 if quick else 10, "500h" if quick else "1000h")
    ratio = (gridsim_row["wall_s"] / gridsim_row["issues"]
             / (simpy_row["wall_s"] / simpy_row["issues"])) if gridsim_row else None
    for row in rows:
        if "wall_s" in row and "issues" in row:
            row["issues_per_s"] = row["issues"] / row["wall_s"] if row["wall_s"] > 0 else None
    return {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "seed": seed,
        "repeat": repeat,
        "memory_method": MEMORY_METHOD,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "rows": rows,
        "engine_ratio_gridsim_over_simpy": ratio,  # wall time per customer
        "mmc_erlang_c_wait_h": erlang_c,
    }


def _erlang_c_wait() -> float:
    import mmc_simpy

    return mmc_simpy.erlang_c_wait(LAM, MU, C)


def render(report: dict[str, Any]) -> Table:
    kind = "quick smoke run" if report["quick"] else "full run"
    best = f", best of {report['repeat']} runs" if report["repeat"] > 1 else ""
    table = Table(title=f"gridsim benchmarks ({kind}, seed {report['seed']}{best})",
                  caption=f"{report['memory_method']}; wall = gridsim.simulate(), "
                          "gridsim.compare() or mmc_simpy.run(); mean wait = Wq in hours "
                          "(gridsim: W − 1/μ)")
    table.add_column("benchmark", no_wrap=True)
    table.add_column("run", no_wrap=True)
    table.add_column("workload")
    table.add_column("wall s", justify="right", no_wrap=True)
    table.add_column("issues", justify="right", no_wrap=True)
    table.add_column("issues/s", justify="right", no_wrap=True)
    table.add_column("SimPy events", justify="right", no_wrap=True)
    table.add_column("peak RSS MiB (pre-run)", justify="right", no_wrap=True)
    table.add_column("mean wait h", justify="right", no_wrap=True)
    for row in report["rows"]:
        if "skipped" in row:
            table.add_row(row["benchmark"], row["name"], f"[yellow]{row['skipped']}[/]",
                          "[yellow]skipped[/]", "", "", "", "", "")
            continue
        if row["benchmark"] == "optimiser":
            table.add_row(row["benchmark"], row["name"],
                          f"Jackson tandem, {row['horizon']}: found the cheapest feasible "
                          f"allocation in {row['hits']}/{row['seeds']} base seeds with "
                          f"{row['replications_mean']:.0f} replications on average",
                          _fmt(row["wall_s"], ".1f"), "", "", "", "", "")
            continue
        workload = row["workload"]
        if "s_per_issue_vs_smallest" in row:
            workload += (f"; process-s/issue {row['s_per_issue_vs_smallest']:.2f}× "
                         "one_street's")
        if "target" in row:
            met = {True: "[green]met[/]", False: "[red]missed[/]",
                   None: "not judged (not the full workload)"}[row["target_met"]]
            workload += f"; target {row['target']}: {met}"
        table.add_row(row["benchmark"], row["name"], workload,
                      _fmt(row["wall_s"], ".2f"), _fmt(row["issues"], ",d"),
                      _fmt(row.get("issues_per_s"), ",.0f"), _fmt(row.get("events"), ",d"),
                      _rss(row) + (f"; all processes {row['peak_rss_tree_mib']:,.0f}"
                                   if "peak_rss_tree_mib" in row else ""),
                      _fmt(row.get("mean_wait_h"), ".3f"))
    ratio = report["engine_ratio_gridsim_over_simpy"]
    table.add_row("engine", "ratio gridsim / SimPy",
                  "wall time per customer; Erlang C Wq = "
                  f"{report['mmc_erlang_c_wait_h']:.3f} h",
                  f"{ratio:.2f}×" if ratio else "n/a", "", "", "", "", "")
    return table


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="short horizons and 20,000 M/M/c customers (a smoke run)")
    p.add_argument("--customers", type=int,
                   help="M/M/c customers (default 200,000, or 20,000 with --quick)")
    p.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    p.add_argument("--repeat", type=int, default=1,
                   help="run each measurement this many times (each in a fresh process) and "
                        "keep the fastest (default 1)")
    p.add_argument("--json", type=Path, default=DEFAULT_JSON,
                   help="where to write the table as JSON (default results/bench/latest.json)")
    p.add_argument("--no-scaling", dest="scaling", action="store_false",
                   help="skip the scaling runs: one street, one district (a year) and the "
                        "megacity (scenarios/bench/; a year, one shard per district on 2 "
                        "processes)")
    p.add_argument("--optimiser", action="store_true",
                   help="also run the staffing optimiser against exhaustive search on the "
                        "Jackson tandem (10 base seeds; 2 with --quick)")
    p.add_argument("--planner", action="store_true",
                   help="also run a planner's comparison: 3 policies x 30 replications of the "
                        "default year on 2 processes (3 x 14 days with --quick, plus the "
                        "check against workers=1)")
    p.add_argument("--beijing", action="store_true",
                   help="also run Beijing's year (scenarios/bench/beijing.yaml, KPIs only, one "
                        "shard per district on 2 processes; 2 days with --quick)")
    p.add_argument("--beijing-horizon", default=None,
                   help="simulated span of the Beijing run (default 365d, 2d with --quick)")
    p.add_argument("--megacity-horizon", default=None,
                   help="simulated span of the megacity run (default 365d, 2d with --quick)")
    args = p.parse_args(argv)
    customers = args.customers or (20_000 if args.quick else 200_000)

    console = Console() if sys.stdout.isatty() else Console(width=200)
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    report = measure(args.quick, customers, args.seed, args.repeat, console, args.scaling,
                     args.megacity_horizon, args.optimiser, args.planner, args.beijing,
                     args.beijing_horizon)
    console.print(render(report))
    lifecycle = [r for r in report["rows"] if r["benchmark"] == "lifecycle"]
    console.print("lifecycle throughput (issues/s): " + ", ".join(
        f"{r['name'].split(' · ')[1]} {r['issues_per_s']:,.0f}" for r in lifecycle))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n",
                         encoding="utf-8")
    console.print(f"written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
