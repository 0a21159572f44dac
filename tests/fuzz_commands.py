"""Hypothesis strategies for the commands beyond ``run`` and ``validate-scenario``: experiments
(replicate, compare, sweep), report, warmup, calibrate, validate (published figures), schema.

Each run is kept tiny (at most three replications of the 14-day base scenario, one worker unless
``--workers`` is the point) so an example takes about a second.
"""

from __future__ import annotations

from fuzz_strategies import OUTS, REFUSE_OUT, SEEDS, Example, pick, pool
from fuzzing import Expect
from hypothesis import strategies as st

EXPERIMENT_SECONDS = 30.0
REPLICATIONS = pool(("replications", ["1", "2", "3"]),
                    ("bad_replications", ["0", "-1", "x", "1.5", ""]))
AUTO_MAX = pool(("replications", ["2", "3"]), ("bad_replications", ["0", "-1", "1"]))
PRECISION = pool(("precision", ["0.05", "0.5", "1e-9"]),
                 ("bad_precision", ["0", "-1", "nan", "inf", "x"]))
KPIS = pool(("kpi", ["resolution_time_mean", "backlog_end", "on_time_rate", "whistles"]),
            ("bad_kpi", ["nope", "", "resolution_time_mena", "Resolution_time_mean"]))
EXP_WORKERS = pool(("workers", ["1", "1", "1", "2"]), ("bad_workers", ["0", "-1", "x"]))
POLICIES = pool(("policies", ["baseline,whistle", "four_tier,baseline", " baseline , whistle "]),
                ("bad_policies", ["four_tier,four_tier", "baseline,", ",", "", "nope,baseline",
                                  "baseline", "basline,whistle"]))
VARY = pool(("vary", ["streets.staff.enforcement=4,8", "policy.name=baseline,whistle",
                      "horizon=7d,10d"]),
            ("bad_vary", ["x.y=1,2", "streets.count=", "=1", "horizon=7d,0d",
                          "streets.staff.centre=1,1", "streets.staff.centre=a,b", "novalue"]))
DASK = pool(("bad_dask", ["tcp://127.0.0.1:9", "nonsense", "tcp://256.1.1.1:1"]))


@st.composite
def experiment_args(draw) -> Example:
    """replicate / compare / sweep with their options at valid and odd values."""
    tags: set[str] = set()
    cmd = draw(st.sampled_from(["replicate", "compare", "sweep"]))
    argv = [cmd, "{file}", "--out", "exp", "-q"]
    options = ["--replications"]
    n = draw(st.sampled_from(["fixed", "fixed", "fixed", "auto"]))
    if n == "auto":
        argv += ["-n", "auto", "--max-replications", pick(draw, AUTO_MAX, tags)]
        options.append("--max-replications")
        if draw(st.booleans()):
            argv += ["--precision", pick(draw, PRECISION, tags)]
            options.append("--precision")
    else:
        argv += ["-n", pick(draw, REPLICATIONS, tags)]
    for opt, choices in (("--kpi", KPIS), ("--seed", SEEDS)):
        if draw(st.booleans()):
            argv += [opt, pick(draw, choices, tags)]
            options.append(opt)
    argv += ["--workers", pick(draw, EXP_WORKERS, tags)]
    options.append("--workers")
    if cmd == "compare":
        if draw(st.integers(0, 4)) == 0:
            argv.insert(2, "{file}")  # the same file twice
            tags.add("same_file_twice")
        argv += ["--policies", pick(draw, POLICIES, tags)]
        options.append("--policies")
    if cmd == "sweep":
        for _ in range(draw(st.integers(1, 2))):
            argv += ["--vary", pick(draw, VARY, tags)]
        options.append("--vary")
    if draw(st.integers(0, 5)):
        argv.append("--no-plots")
    expect = Expect(kind="experiment", out="exp", options=tuple(options),
                    names=("policy", "vary", "replications", "kpi", "precision"),
                    seconds=EXPERIMENT_SECONDS)
    return Example((), argv, expect, frozenset(tags))


EXP_OUTS = pool(("out", [v for t, v in OUTS if t == "out" and v != "results/earlier"]
                 + ["prev_exp"]),
                ("unsafe_out", sorted(REFUSE_OUT) + ["results/earlier", "prev_run"]))


@st.composite
def experiment_out(draw) -> Example:
    """Experiment output folders, including a run folder and an earlier experiment."""
    tags: set[str] = set()
    out = pick(draw, EXP_OUTS, tags)
    setup = (out,) if out in ("prev_exp", "prev_run") else ()
    argv = ["replicate", "{file}", "-n", "1", "--workers", "1", "-q", "--no-plots", "--out", out]
    return Example((), argv, Expect(kind="experiment", out=out, options=("--out",),
                                    refuse="unsafe_out" in tags, seconds=EXPERIMENT_SECONDS),
                   frozenset(tags), setup=setup)


@st.composite
def dask_address(draw) -> Example:
    tags: set[str] = set()
    argv = ["replicate", "{file}", "-n", "1", "-q", "--no-plots", "--out", "exp", "--dask",
            pick(draw, DASK, tags)]
    return Example((), argv, Expect(kind="experiment", out="exp", options=("--dask",),
                                    seconds=10), frozenset(tags))


REPORT_TARGETS = pool(("report", ["prev_run", "prev_exp", "results/earlier"]),
                      ("report_bad", ["../thesis", "missing", "notes.md", "empty", "..",
                                      "broken_manifest", "no_kpis", "prev_run/plots"]))
REPORT_REFUSE = {"../thesis", "missing", "notes.md", "empty", "..", "broken_manifest",
                 "prev_run/plots"}


@st.composite
def report(draw) -> Example:
    """``gridsim report`` on results folders, damaged ones and folders that are none."""
    tags: set[str] = set()
    target = pick(draw, REPORT_TARGETS, tags)
    setup = tuple(s for s in ("prev_run", "prev_exp") if target.startswith(s))
    if target in ("broken_manifest", "no_kpis"):
        setup = (target,)
    return Example((), ["report", target],
                   Expect(kind="report", file=None, out=target, options=("results",),
                          names=(target, "folder", "results"), refuse=target in REPORT_REFUSE,
                          seconds=20), frozenset(tags), setup=setup)


WARMUP_N = pool(("warmup", ["1", "2"]), ("bad_replications", ["0", "-1", "x"]))


@st.composite
def warmup(draw) -> Example:
    tags: set[str] = set()
    argv = ["warmup", "{file}", "--workers", "1", "-q", "-n", pick(draw, WARMUP_N, tags)]
    options = ["--replications"]
    if draw(st.booleans()):
        argv += ["--method", draw(st.sampled_from(["mser5", "welch", "nope"]))]
        options.append("--method")
    if draw(st.booleans()):
        argv += ["--seed", pick(draw, SEEDS, tags)]
        options.append("--seed")
    if draw(st.booleans()):
        argv += ["--set", draw(st.sampled_from(["horizon=3d", "horizon=1h", "warmup=1d",
                                                "record.load_interval=13h"]))]
        options.append("--set")
    return Example((), argv, Expect(kind="warmup", options=tuple(options), seconds=20,
                                    names=("replications", "horizon", "warmup")),
                   frozenset(tags))


TARGETS = pool(("target", ["resolution_time_mean=30", "resolution_time_mean[lead=street]=30",
                           "backlog_end=5"]),
               ("bad_target", ["nope=1", "=1", "x", "resolution_time_mean=nan",
                               "resolution_time_mean=inf", "backlog_end=abc",
                               "resolution_time_mean[nope=x]=3", "resolution_time_mean[=3"]))
PARAMS = pool(("param", ["categories.*.solve.community=0.2:0.9", "patrol.detect_prob=0.5:0.9",
                         "categories.noise.reopen=0:0.2"]),
              ("bad_param", ["x.y=1:2", "patrol.detect_prob=2:1", "patrol.detect_prob=nan:1",
                             "patrol.detect_prob=0.5:inf", "=1:2", "patrol.detect_prob=1",
                             "streets.staff.enforcement=4:12", "categories.*.nope=0:1",
                             "patrol.detect_prob=-1:2", "streets.staff=1:2"]))
CAL_OUT = pool(("out", ["fit.yaml", "sub/fit.yaml"]),
               ("unsafe_out", ["notes.md", "s.yaml", "empty", "../thesis/chapter1.tex"]))


@st.composite
def calibrate(draw) -> Example:
    """``gridsim calibrate`` with one evaluation budget: targets, parameters, output file."""
    tags: set[str] = set()
    argv = ["calibrate", "{file}", "--set", "horizon=3d", "--set", "warmup=0d", "-n", "1",
            "--maxiter",
            draw(st.sampled_from(["1", "1", "0", "-1"])), "-q",
            "--target", pick(draw, TARGETS, tags), "--param", pick(draw, PARAMS, tags)]
    out = None
    if draw(st.booleans()):
        out = pick(draw, CAL_OUT, tags)
        argv += ["--out", out]
    refuse = out in ("notes.md", "s.yaml", "empty", "../thesis/chapter1.tex")
    return Example((), argv, Expect(kind="calibrate", out=out, refuse=refuse, seconds=40,
                                    options=("--target", "--param", "--out", "--maxiter")),
                   frozenset(tags))


@st.composite
def published(draw) -> Example:
    """``gridsim validate`` with options that must be refused before any check runs."""
    tags = {"published"}
    argv = ["validate", "-q", "--fast"] + draw(st.sampled_from([
        ["--check", "nope"], ["--check", ""], ["--metrics", "notes.md"],
        ["--metrics", "missing.yaml"], ["--metrics", "{file}"], ["--metrics", "empty"],
        ["--check", "nope", "-n", "0"], ["--report", "notes.md"]]))
    metrics = argv[argv.index("--metrics") + 1] if "--metrics" in argv else None
    return Example((), argv, Expect(kind="published",
                                    options=("--check", "--metrics", "--report", "--replications"),
                                    file=metrics.replace("{file}", "s.yaml") if metrics else None,
                                    names=("check", "metrics", "notes.md", "missing.yaml",
                                           "empty")), frozenset(tags))


@st.composite
def schema(draw) -> Example:
    extra = draw(st.sampled_from([[], ["--x"], ["s.yaml"]]))
    return Example((), ["schema", *extra], Expect(kind="schema", options=tuple(extra)),
                   frozenset({"schema"}))
