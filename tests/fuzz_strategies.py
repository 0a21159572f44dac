"""Hypothesis strategies of the fuzz harness: each draws an :class:`Example` (mutations of the
base scenario, a command line, what the outcome must look like).

Odd values come from tagged pools: every choice carries the name of the class of bad input it
belongs to (``nan_inf``, ``huge_count``, ``unsafe_out``, ...). Classes listed in
``tests/test_fuzz.py``'s ``PENDING`` (fixed on another branch, not merged yet) are left out of
the pools, so what is drawn today must already pass; emptying ``PENDING`` draws from everything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from fuzzing import (
    ALL_PATHS,
    BASE,
    DURATION_PATHS,
    KEY_PATHS,
    NUMBER_PATHS,
    SCALAR_KEY_PATHS,
    SCENARIO_FILE,
    STRING_PATHS,
    Expect,
    Mutation,
    paths,
    yaml_path,
)
from hypothesis import strategies as st

PENDING: set[str] = set()  # filled by test_fuzz.py before any strategy is drawn


@dataclass
class Example:
    """One fuzz case: ``argv`` may hold ``{file}`` (the scenario file) and ``{root}`` (the
    sandbox root); ``setup`` names prepared folders copied into the sandbox (see test_fuzz)."""

    mutations: tuple[Mutation, ...]
    argv: list[str]
    expect: Expect
    tags: frozenset[str] = frozenset()
    file_name: str = SCENARIO_FILE
    setup: tuple[str, ...] = field(default=())

    def __repr__(self) -> str:
        return (f"Example(mutations={self.mutations!r}, argv={self.argv!r}, "
                f"tags={sorted(self.tags)}, file={self.file_name!r}, setup={self.setup!r})")


def pool(*groups: tuple[str, list]) -> list[tuple[str, object]]:
    return [(tag, v) for tag, values in groups for v in values]


def pick(draw, choices: list[tuple[str, object]], tags: set[str]):
    """Draw a value from a tagged pool, leaving out pending classes; record its tag."""
    live = [(t, v) for t, v in choices if t not in PENDING]
    tag, value = draw(st.sampled_from(live))
    tags.add(tag)
    return value


# ---------------------------------------------------------------- value pools
TEXTS = ["", " ", "x", "名字", "é", "😀", "\u200b", "\u202e", "\ufeff", "\x00", "\t", "\n",
         "line\nbreak", "\x1b[31mred", "%s{}", "NaN", "inf", "null", "~", "-", "C:\\x", "x" * 3000]
PATH_TEXTS = [".", "..", "...", "/", "a/b", "../x"]
ODD_TEXT = pool(("text", TEXTS), ("path_text", PATH_TEXTS))
NUMBERS = pool(("number", [0, -1, 1, 2, 0.5, -0.0, 1e-12, -2.5, 7]),
               ("big_number", [1e12, 10**9, 10**12, 2**63, -2**63, 2**64, 1e308, 10**30]),
               ("nan_inf", [math.nan, math.inf, -math.inf]))
SWAPS = pool(("swap", [None, True, False, 0, 7, -3, 2.5, "", "text", [], [1, "a"], {},
                       {"k": 1}, {"dist": "fixed"}, {"value": 1}]))
DURATION_NUMBERS = pool(("duration", ["0", "0.0", "0.5", "3", "1e-3", "99999"]),
                        ("tiny_duration", ["1e-12", "1e-300", "0.000001"]),
                        ("huge_duration", ["1e12", "1e300", "1e400", "99999999"]))
UNITS = ["s", "min", "h", "d", "w", "wd", "wh", "x", ""]
DATES = pool(("date", ["2026-02-30", "2026-13-01", "1900-02-29", "2026-1-5", "tomorrow"]),
             ("date_overflow", ["9999-12-31", "9999-12-01", "0001-01-01"]))
DATE_LISTS = pool(("date", [["2026-01-06"], ["2026-01-10..2026-01-06"], ["x..y"]]),
                  ("date_overflow", [["9999-12-30..9999-12-31"], ["0001-01-01..9999-12-31"],
                                     ["0001-01-01"]]))
DATE_PATHS = [("calendar", "start"), ("calendar", "holidays"), ("calendar", "extra_workdays")]
COUNT_PATHS = [("streets", "count"), ("streets", "communities"),
               ("streets", "grids_per_community"), ("streets", "households_per_grid"),
               ("districts", 0, "count"), ("streets", "staff", "centre"),
               ("streets", "staff", "grid_workers_per_grid"), ("record", "chunk"),
               ("districts", 0, "joint_consultation", "agenda"), ("city", "agenda"),
               ("categories", "noise", "rates", "hotline", "value")]
HUGE = pool(("huge_count", [10**6, 10**9, 10**12, 10**18]), ("count", [0, 1, 2]))
INTERVAL_PATHS = [("districts", 0, "joint_consultation", "every"), ("city", "every"),
                  ("patrol", "interval"), ("record", "load_interval"),
                  ("categories", "noise", "rates", "hotline", "every"), ("horizon",)]
INTERVALS = pool(("zero_interval", ["0d", "0h", "1e-9h", "1e-300h", "0.0001s"]),
                 ("interval", ["1h", "30d", "3d"]),
                 ("huge_duration", ["1e12d", "1e300h", "1e400h"]))


def _with(mutation: Mutation) -> dict:
    import yaml
    from fuzzing import render

    return yaml.safe_load(render([mutation]))


# ---------------------------------------------------------------- mutation strategies
@st.composite
def value_mutation(draw, tags: set[str]) -> Mutation:
    """Delete a key, swap a value's type, or replace a number, duration, string, date or key."""
    kind = draw(st.sampled_from(["delete", "swap", "number", "duration", "text", "rename",
                                 "date"]))
    if kind == "delete":
        tags.add("delete")
        return Mutation("delete", draw(st.sampled_from(ALL_PATHS)))
    if kind == "swap":
        return Mutation("set", draw(st.sampled_from(ALL_PATHS)), pick(draw, SWAPS, tags))
    if kind == "number":
        return Mutation("set", draw(st.sampled_from(NUMBER_PATHS)), pick(draw, NUMBERS, tags))
    if kind == "duration":
        path = draw(st.sampled_from(DURATION_PATHS))
        number = pick(draw, DURATION_NUMBERS, tags)
        return Mutation("set", path, number + draw(st.sampled_from(UNITS)))
    if kind == "text":
        text = draw(st.one_of(
            st.just(pick(draw, ODD_TEXT, tags)),
            st.text(st.characters(exclude_categories=("Cs",)), max_size=12)))
        return Mutation("set", draw(st.sampled_from(STRING_PATHS)), text)
    if kind == "rename":
        path = draw(st.sampled_from(KEY_PATHS))
        return Mutation("rename", path, pick(draw, ODD_TEXT, tags))
    path = draw(st.sampled_from(DATE_PATHS))
    return Mutation("set", path, pick(draw, DATES if path[-1] == "start" else DATE_LISTS, tags))


def _expect_for(m: Mutation, **kw) -> Expect:
    names: tuple[str, ...] = ()
    path = m.path
    if m.op == "rename":
        names = (str(m.path[-1]),)
        path = m.path[:-1] + (m.value,)
    if m.op in ("delete", "rename") and len(m.path) == 2 and m.path[0] == "city_departments":
        # a city department is referred to by what it owns (its categories), not by its name:
        # losing one is reported where a category's routing needs an owner, naming the mapping
        names += ("city_departments",)
    return Expect(path=path, names=names, **kw)


@st.composite
def validate_value(draw) -> Example:
    tags: set[str] = set()
    m = draw(value_mutation(tags))
    return Example((m,), ["validate-scenario", "{file}"], _expect_for(m, kind="validate"),
                   frozenset(tags))


@st.composite
def validate_structure(draw) -> Example:
    """Deep nesting, duplicate keys, anchors and aliases, oversized files."""
    tags: set[str] = set()
    kind = pick(draw, pool(("deep_nesting", ["deep"]), ("duplicate_key", ["dup"]),
                           ("alias", ["alias"]), ("alias_bomb", ["bomb"]),
                           ("big_file", ["pad"]), ("huge_file", ["sparse"])), tags)
    refuse = False
    if kind == "deep":
        depth = draw(st.sampled_from([3, 30, 300, 3000, 30000]))
        shape = draw(st.sampled_from(["list", "map"]))
        raw = "[" * depth + "]" * depth if shape == "list" else "{a: " * depth + "1" + "}" * depth
        path = draw(st.sampled_from(ALL_PATHS))
        ms = (Mutation("raw", path, raw),)
        expect = Expect(kind="validate", path=path)
    elif kind == "dup":
        path = draw(st.sampled_from(SCALAR_KEY_PATHS))
        value = draw(st.sampled_from(["1", "x", "{}", "2h"]))
        ms = (Mutation("dup", path, value),)
        refuse = True
        expect = Expect(kind="validate", path=path, refuse=True)
    elif kind == "alias":
        dists = [p for p, v in paths(BASE) if isinstance(v, dict) and "dist" in v]
        i = draw(st.integers(0, len(dists) - 2))
        j = draw(st.integers(i + 1, len(dists) - 1))
        import yaml

        node = _parent(BASE, dists[i])[dists[i][-1]]
        flow = yaml.safe_dump(node, default_flow_style=True, width=1 << 20).strip()
        ms = (Mutation("raw", dists[i], "&shared " + flow), Mutation("raw", dists[j], "*shared"))
        expect = Expect(kind="validate", path=dists[j], names=("alias", "shared"))
    elif kind == "bomb":
        width = draw(st.integers(2, 10))
        levels = draw(st.integers(1, 9))
        parts = ["&a0 [" + ", ".join(["lol"] * width) + "]"]
        parts += [f"&a{k} [" + ", ".join([f"*a{k - 1}"] * width) + "]"
                  for k in range(1, levels)]
        ms = (Mutation("raw", ("description",), "[" + ", ".join(parts) + "]"),)
        expect = Expect(kind="validate", path=("description",), names=("alias",))
    elif kind == "pad":
        ms = (Mutation("pad", (), draw(st.sampled_from([10_000, 1_000_000, 4_000_000]))),)
        expect = Expect(kind="validate", names=("size", "bytes", "large"))
    else:
        ms = (Mutation("sparse", (), draw(st.sampled_from([1 << 26, 1 << 31]))),)
        expect = Expect(kind="validate", names=("size", "bytes", "large"))
    del refuse
    return Example(ms, ["validate-scenario", "{file}"], expect, frozenset(tags))


def _parent(data, path):
    node = data
    for k in path[:-1]:
        node = node[k]
    return node


SET_PATHS = pool(("set_path", [".", "..", "a..b", "[0]", "districts[99].name",
                               "districts[-1].name", "districts[x].name", "name.sub",
                               "categories.*.reopen", "streets.overrides.0.count",
                               "streets.overrides.x.count", "districts.joint_consultation.every",
                               " horizon ", "horizon.", "calendar.shifts.office.hours[5]"]))
SET_VALUES = pool(("set_value", ["", "[", "{a: 1", "!!python/object:os.system", "1e400", ".nan",
                                 "&a [*a]", "x=y", "[1, 2]", "{}", "null", "~", "'quoted",
                                 "2h", "0", "-1", "名字", "\x00", "a: b: c", "*undefined"]))


@st.composite
def set_override(draw) -> Example:
    """``--set PATH=VALUE`` with real and odd paths and odd YAML values."""
    tags: set[str] = set()
    if draw(st.booleans()):
        path = draw(st.sampled_from(ALL_PATHS))
        text, tup = yaml_path(path), path
        tags.add("set_real_path")
    else:
        text, tup = pick(draw, SET_PATHS, tags), None
    value = pick(draw, SET_VALUES, tags)
    cmd = draw(st.sampled_from(["validate-scenario", "validate-scenario", "run"]))
    argv = [cmd, "{file}", "--set", f"{text}={value}"]
    if cmd == "run":
        argv += ["--out", "out", "-q", "--no-plots"]
    kind = "validate" if cmd == "validate-scenario" else "run"
    expect = Expect(kind=kind, path=tup, names=("--set", text.strip()), options=("--set",),
                    out="out" if cmd == "run" else None, seconds=5 if kind == "validate" else 15)
    return Example((), argv, expect, frozenset(tags))


# ---------------------------------------------------------------- runs
RECORD = pool(("record", ["issues", "events", "kpis"]), ("bad_record", ["", "Issues", "x"]))
SEEDS = pool(("seed", ["0", "1", "12345", "9223372036854775807"]),
             ("bad_seed", ["-1", "x", "1.5", "", "18446744073709551616", "-9223372036854775808"]))
WORKERS = pool(("workers", ["1", "2"]), ("bad_workers", ["0", "-1", "x"]))
SHARDS = pool(("shards", ["1", "2", "auto"]), ("bad_shards", ["0", "-1", "x"]))
RUN_SECONDS = 15.0


@st.composite
def run_mutation(draw) -> Example:
    """A real run of a mutated scenario."""
    tags: set[str] = set()
    m = draw(value_mutation(tags))
    argv = ["run", "{file}", "--out", "out", "-q", "--no-plots"]
    return Example((m,), argv, _expect_for(m, kind="run", out="out", seconds=RUN_SECONDS),
                   frozenset(tags))


@st.composite
def run_limits(draw) -> Example:
    """Counts and intervals at their extremes, run for real."""
    tags: set[str] = set()
    if draw(st.booleans()):
        path = draw(st.sampled_from(COUNT_PATHS))
        m = Mutation("set", path, pick(draw, HUGE, tags))
    else:
        path = draw(st.sampled_from(INTERVAL_PATHS))
        m = Mutation("set", path, pick(draw, INTERVALS, tags))
    argv = ["run", "{file}", "--out", "out", "-q", "--no-plots", "--record",
            draw(st.sampled_from(["kpis", "issues"]))]
    return Example((m,), argv, _expect_for(m, kind="run", out="out", seconds=RUN_SECONDS),
                   frozenset(tags))


@st.composite
def run_args(draw) -> Example:
    """The run command's options, and scenario file names."""
    tags: set[str] = set()
    argv = ["run", "{file}", "--out", "out", "--no-plots"]
    options = []
    for opt, choices in (("--seed", SEEDS), ("--record", RECORD), ("--shards", SHARDS),
                         ("--workers", WORKERS)):
        if draw(st.booleans()):
            argv += [opt, pick(draw, choices, tags)]
            options.append(opt)
    if draw(st.booleans()):
        argv.append("--stream")
    if draw(st.booleans()):
        argv.append("-q")
    if draw(st.integers(0, 9)) == 0:
        argv.remove("--no-plots")
    name = draw(st.sampled_from([SCENARIO_FILE, "名字.yaml", "a b.yaml", "x.yml", "noext",
                                 ".hidden.yaml", "-dash.yaml"]))
    if name.startswith("-"):
        argv[1] = "./{file}"
    file_arg = ("./" + name) if name.startswith("-") else name
    expect = Expect(kind="run", file=file_arg, out="out", options=tuple(options),
                    seconds=RUN_SECONDS)
    return Example((), argv, expect, frozenset(tags), file_name=name)


OUTS = pool(("out", ["out", "a/b/c", "results/fuzz", "empty", "./x", "out/", "ünï ø/x",
                     "results/earlier"]),
            ("unsafe_out", ["notes.md", "../thesis", "..", ".", "results", "../notes.txt",
                            "notes.md/sub", "", "{root}/thesis", "{root}"]))
REFUSE_OUT = {"notes.md", "../thesis", "..", ".", "results", "../notes.txt", "notes.md/sub", "",
              "{root}/thesis", "{root}"}
NAMES = pool(("name", ["a.b", "_", "earlier", "x-1"]), ("dot_name", [".", "..", "..."]))


@st.composite
def run_out(draw) -> Example:
    """Output folders: fresh, nested, an earlier run, and things gridsim did not create."""
    tags: set[str] = set()
    if draw(st.booleans()):
        out = pick(draw, OUTS, tags)
        argv = ["run", "{file}", "-q", "--no-plots", "--out", out]
        return Example((), argv, Expect(kind="run", out=out, options=("--out",),
                                        refuse=out in REFUSE_OUT, seconds=RUN_SECONDS),
                       frozenset(tags))
    name = pick(draw, NAMES, tags)
    m = Mutation("set", ("name",), name)
    return Example((m,), ["run", "{file}", "-q", "--no-plots"],
                   Expect(kind="run", out=f"results/{name}", path=("name",),
                          refuse=set(name) == {"."}, seconds=RUN_SECONDS), frozenset(tags))
