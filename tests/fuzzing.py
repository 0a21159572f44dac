"""Machinery of the fuzz harness (tests/test_fuzz.py): a small, fast scenario; mutations of it
written as data (so a failure can be recorded and replayed); the CLI run in-process inside a
sandbox with a time and memory limit; and the invariants every outcome must satisfy.

An outcome is acceptable when it is

- exit 0 with what the command promises (a results folder with its manifest, a report page, a
  fitted scenario, JSON on stdout, ...), or
- exit 2 with one clear message: the scenario error header naming the file (or ``--set``) and
  one line per problem naming its YAML path or line, or one ``gridsim: ...`` line, or argparse's
  usage and one ``error:`` line naming the option;

never a traceback or an uncaught exception, never longer than the command's time limit, and never a
write outside the output folder (the sandbox is snapshot before and after; on exit 2 nothing may
change at all).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import math
import os
import re
import resource
import signal
import tempfile
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SCENARIO_FILE = "s.yaml"
SENTINEL = "FUZZRAWVALUE"
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def base_data() -> dict[str, Any]:
    """scenarios/bench/one_street.yaml shrunk to two communities of three grids over 14 days:
    a valid run takes a few tenths of a second."""
    data = yaml.safe_load((ROOT / "scenarios" / "bench" / "one_street.yaml").read_text("utf-8"))
    data.update(name="fuzz", horizon="14d", warmup="2d")
    data["streets"].update(communities=2, grids_per_community=3)
    # five categories cover both leads, the joint and city tiers, several departments and a
    # department on a 24/7 shift; fewer keys keep each YAML parse short
    keep = ("garbage_overflow", "noise", "property_dispute", "water_leak", "illegal_construction")
    data["categories"] = {k: v for k, v in data["categories"].items() if k in keep}
    used = {d for c in data["categories"].values() for d in c["departments"]}
    data["departments"] = {k: v for k, v in data["departments"].items() if k in used}
    # the front end's routing and the city departments name categories: keep only the kept ones
    front = data["hotline"]["front_end"]
    front["routing_by_category"] = {k: v for k, v in front["routing_by_category"].items()
                                    if k in keep}
    data["city_departments"] = {
        k: {**v, "categories": [c for c in v["categories"] if c in keep]}
        for k, v in data["city_departments"].items() if set(v["categories"]) & set(keep)}
    return data


BASE = base_data()


def paths(node: Any, prefix: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """Every (path, value) of a YAML tree, the root excluded."""
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return
    for k, v in items:
        yield prefix + (k,), v
        yield from paths(v, prefix + (k,))


ALL_PATHS = [p for p, _ in paths(BASE)]
NUMBER_PATHS = [p for p, v in paths(BASE) if isinstance(v, int | float) and not isinstance(v, bool)]
STRING_PATHS = [p for p, v in paths(BASE) if isinstance(v, str)]
DURATION = re.compile(r"^([0-9.]+)\s*(s|min|h|d|w|wd|wh)$")
DURATION_PATHS = [p for p, v in paths(BASE) if isinstance(v, str) and DURATION.match(v)]
KEY_PATHS = [p for p in ALL_PATHS if isinstance(p[-1], str)]
SCALAR_KEY_PATHS = [p for p, v in paths(BASE) if isinstance(p[-1], str) and
                    not isinstance(v, dict | list)]


def yaml_path(path: Sequence[Any]) -> str:
    """``('districts', 0, 'name')`` -> ``districts[0].name`` (the form gridsim's messages use)."""
    out = ""
    for el in path:
        out += f"[{el}]" if isinstance(el, int) else ("." if out else "") + str(el)
    return out


# ---------------------------------------------------------------- mutations, as data
@dataclass(frozen=True)
class Mutation:
    """One change to the base scenario.

    ``op``: ``delete`` the key at ``path``; ``set`` it to ``value``; ``rename`` its key to
    ``value``; ``raw``: replace it by the YAML text ``value`` (deep nesting, anchors);
    ``dup``: write the key twice, the second time with the YAML text ``value``; ``pad``: append
    ``value`` bytes of comment; ``sparse``: append ``value`` bytes of a hole (NUL bytes) without
    writing them.
    """

    op: str
    path: tuple = ()
    value: Any = None

    def __repr__(self) -> str:
        v = self.value
        long = isinstance(v, str) and len(v) > 400
        v = f"{v[:300]!r}...({len(v)} chars)" if long else repr(v)
        return f"Mutation({self.op!r}, {self.path!r}, {v})"


def _parent(data: Any, path: tuple) -> Any:
    """The mapping or list holding ``path``; missing mappings on the way are created."""
    node = data
    for k in path[:-1]:
        node = node.setdefault(k, {}) if isinstance(node, dict) else node[k]
    return node


def render(mutations: Sequence[Mutation], base: dict[str, Any] | None = None) -> bytes:
    """The scenario file after ``mutations``, as bytes (sparse padding excluded: see ``write``)."""
    data = copy.deepcopy(BASE if base is None else base)
    raws: list[tuple[str, Mutation]] = []
    pad = 0
    for m in mutations:
        if m.op == "pad":
            pad += int(m.value)
            continue
        if m.op == "sparse":
            continue
        parent, key = _parent(data, m.path), m.path[-1]
        if m.op == "delete":
            del parent[key]
        elif m.op == "set":
            parent[key] = m.value
        elif m.op == "rename":
            items = list(parent.items())
            parent.clear()
            parent.update({(m.value if k == key else k): v for k, v in items})
        elif m.op in ("raw", "dup"):
            token = f"{SENTINEL}{len(raws)}"
            parent[key] = token
            raws.append((token, m))
        else:
            raise ValueError(f"unknown mutation {m.op!r}")
    text = yaml.dump(data, Dumper=DUMPER, sort_keys=False, allow_unicode=True, width=1 << 20,
                     default_flow_style=False)
    for token, m in raws:
        if m.op == "raw":
            text = text.replace(token, m.value, 1)
        else:
            line = next(ln for ln in text.splitlines() if ln.endswith(f": {token}"))
            head = line[:line.index(f": {token}")]
            indent = len(head) - len(head.lstrip(" -"))
            key = head.lstrip(" -")
            original = yaml.safe_dump(_parent(BASE, m.path)[m.path[-1]], default_flow_style=True,
                                      width=1 << 20, allow_unicode=True).strip()
            original = original.removesuffix("...").strip()
            text = text.replace(token, f"{original}\n{' ' * indent}{key}: {m.value}", 1)
    if pad:
        chunk = "# " + "x" * 78 + "\n"
        text += chunk * (pad // len(chunk) + 1)
    return text.encode("utf-8")


def write(folder: Path, mutations: Sequence[Mutation], name: str = SCENARIO_FILE) -> Path:
    """Write the mutated scenario into ``folder``; a ``sparse`` mutation extends the file with a
    hole (reads as NUL bytes, costs no disk)."""
    path = folder / name
    path.write_bytes(render(mutations))
    for m in mutations:
        if m.op == "sparse":
            with path.open("r+b") as f:
                f.truncate(path.stat().st_size + int(m.value))
    return path


# ---------------------------------------------------------------- the sandbox
def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under ``root``: kind, and for files size and content hash."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            p = Path(dirpath, d)
            out[str(p.relative_to(root))] = ("link",) if p.is_symlink() else ("dir",)
        for f in filenames:
            p = Path(dirpath, f)
            if p.is_symlink() or not p.is_file():
                out[str(p.relative_to(root))] = ("other",)
                continue
            st = p.stat()
            if st.st_size > 1 << 24:  # a sparse scenario file: size is enough
                out[str(p.relative_to(root))] = ("file", st.st_size, st.st_mtime_ns)
                continue
            digest = hashlib.sha1(p.read_bytes()).hexdigest()
            out[str(p.relative_to(root))] = ("file", st.st_size, digest)
    return out


@dataclass
class Sandbox:
    """A folder tree the CLI runs in: ``root/work`` is the working directory, and around it sit
    things a user cares about (a thesis folder, notes, an earlier gridsim run under
    ``work/results``). ``tempfile`` writes to ``root/tmp`` while a command runs."""

    root: Path
    cwd: Path = field(init=False)

    def __post_init__(self) -> None:
        self.cwd = self.root / "work"
        (self.cwd / "results" / "earlier").mkdir(parents=True)
        (self.cwd / "results" / "earlier" / "manifest.json").write_text(
            '{"gridsim_version": "0.1.0", "note": "an earlier run"}\n', encoding="utf-8")
        (self.cwd / "results" / "earlier" / "kpis.csv").write_text("metric,value\n")
        (self.root / "thesis").mkdir()
        (self.root / "thesis" / "chapter1.tex").write_text("\\chapter{Grids}\n", "utf-8")
        (self.root / "notes.txt").write_text("my notes\n", encoding="utf-8")
        (self.cwd / "notes.md").write_text("# notes\n", encoding="utf-8")
        (self.cwd / "empty").mkdir()
        (self.root / "tmp").mkdir()

    def resolve(self, arg: str) -> Path:
        """The absolute, normalised path an ``--out`` argument names (from ``cwd``)."""
        return Path(os.path.normpath(self.cwd / arg))


@contextlib.contextmanager
def limits(seconds: float, memory: int) -> Iterator[None]:
    """Abort the body after ``seconds`` (SIGALRM raises :class:`Hang`) and let it allocate at
    most ``memory`` bytes more address space (MemoryError beyond), so a runaway example fails the
    test instead of hanging CI or exhausting the shared machine."""

    def alarm(signum, frame):
        raise Hang(f"still running after {seconds:.0f} s")

    old_handler = signal.signal(signal.SIGALRM, alarm)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    vm = _vm_size()
    cap = vm + memory if hard == resource.RLIM_INFINITY else min(vm + memory, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    # and again every second: a signal that lands in a finaliser is reported and swallowed
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    try:
        yield
    finally:  # the limit first: restoring anything else may allocate
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)


def _vm_size() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


class Hang(BaseException):
    """An example ran past its hard time limit (a BaseException, so no ``except Exception`` in
    gridsim swallows it)."""


@dataclass
class Outcome:
    """What one in-process CLI call did."""

    argv: list[str]
    code: int | None
    stdout: str
    stderr: str
    seconds: float
    error: str | None = None  # the traceback of an uncaught exception

    def __str__(self) -> str:
        return (f"argv={self.argv!r}\nexit={self.code} after {self.seconds:.2f} s\n"
                f"--- stdout\n{self.stdout[-3000:]}\n--- stderr\n{self.stderr[-3000:]}"
                + (f"\n--- uncaught\n{self.error}" if self.error else ""))


def call(argv: list[str], box: Sandbox, hard_seconds: float = 60,
         memory: int = 3 << 30) -> Outcome:
    """Run ``gridsim.cli.main(argv)`` in this process from ``box.cwd``, capturing its output."""
    from gridsim import cli

    out, err = io.StringIO(), io.StringIO()
    code: int | None = None
    error = None
    old_cwd, old_tmp = os.getcwd(), tempfile.tempdir
    t0 = time.perf_counter()
    try:
        os.chdir(box.cwd)
        tempfile.tempdir = str(box.root / "tmp")
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
                limits(hard_seconds, memory):
            code = cli.main(argv)
    except SystemExit as e:  # argparse
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    except BaseException:  # noqa: BLE001 - the harness reports every escape
        error = traceback.format_exc(limit=12)
    finally:
        seconds = time.perf_counter() - t0
        os.chdir(old_cwd)
        tempfile.tempdir = old_tmp
    return Outcome(list(argv), code, out.getvalue(), err.getvalue(), seconds, error)


# ---------------------------------------------------------------- the invariants
HEADER = re.compile(r"^(?P<source>.+): invalid scenario \((?P<n>\d+) problems?\)$")
LINE = re.compile(r"^line (?P<line>\d+): (?P<rest>.*)$")


@dataclass
class Expect:
    """What the harness knows about an example beyond the general rules.

    ``file``: the scenario file as given on the command line (its name must head a scenario
    error); ``path``: the YAML path mutated (a problem must name it, an ancestor or a key below
    it, or its message mention the key); ``names``: other words that may identify the culprit
    (an old key name, an option); ``options``: the command-line options varied (a usage error
    must name one); ``refuse``: the input must be refused (exit 2); ``out``: the output
    folder (writes are allowed only there); ``kind``: ``run``, ``experiment``, ``report``,
    ``calibrate``, ``warmup``, ``schema``, ``validate`` or ``published``; ``seconds``: the time
    limit.
    """

    kind: str
    file: str | None = SCENARIO_FILE
    path: tuple | None = None
    names: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    refuse: bool = False
    out: str | None = None
    seconds: float = 5.0


def check(o: Outcome, e: Expect, box: Sandbox, before: dict[str, tuple]) -> None:
    """Assert the outcome is acceptable (see the module docstring)."""
    assert o.error is None, f"uncaught exception\n{o}"
    assert "Traceback" not in o.stderr + o.stdout, f"a traceback was printed\n{o}"
    assert o.code in (0, 2), f"exit code {o.code} (only 0 or 2 are acceptable)\n{o}"
    assert o.seconds < e.seconds, f"took {o.seconds:.1f} s (limit {e.seconds} s)\n{o}"
    after = snapshot(box.root)
    if o.code == 2:
        assert after == before, f"exit 2 but the sandbox changed: {_diff(before, after)}\n{o}"
        _check_message(o, e)
        return
    assert not e.refuse, f"this input must be refused with exit 2\n{o}"
    _check_writes(o, e, box, before, after)
    _check_product(o, e, box)


def _diff(before: dict, after: dict, limit: int | None = 20) -> list[str]:
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    return [f"{'+' if k not in before else '-' if k not in after else '~'}{k}"
            for k in changed][:limit]


def _check_writes(o: Outcome, e: Expect, box: Sandbox, before: dict, after: dict) -> None:
    allowed = [] if e.out is None else [box.resolve(e.out)]
    if e.kind == "calibrate" and e.out is None:  # FILE.calibrated.yaml beside the input
        allowed.append(box.cwd / (Path(e.file).stem + ".calibrated.yaml"))
    for entry in _diff(before, after, None):
        sign, rel = entry[0], entry[1:]
        p = box.root / rel
        inside = any(p == a or a in p.parents for a in allowed)
        ancestor = sign == "+" and after[rel] == ("dir",) and any(p in a.parents for a in allowed)
        assert inside or ancestor, (f"wrote outside the output folder {allowed}: "
                                    f"{_diff(before, after)}\n{o}")


def _check_product(o: Outcome, e: Expect, box: Sandbox) -> None:
    if e.kind == "validate":
        assert "valid scenario" in o.stdout, o
    elif e.kind == "schema":
        assert "properties" in json.loads(o.stdout), o
    elif e.kind in ("run", "experiment"):
        out = box.resolve(e.out) if e.out else None
        assert out is not None and out.is_dir(), f"no results folder\n{o}"
        meta = out / ("manifest.json" if e.kind == "run" else "experiment.json")
        data = json.loads(meta.read_text(encoding="utf-8"))
        assert data, f"empty {meta.name}\n{o}"
        table = out / ("kpis.csv" if e.kind == "run" else "summary.csv")
        assert table.stat().st_size > 0, f"empty {table.name}\n{o}"
    elif e.kind == "report":
        m = re.search(r"report written to (.+\.html)", o.stdout)
        assert m and box.resolve(m.group(1)).stat().st_size > 0, o
    elif e.kind == "warmup":
        assert "suggested warm-up" in o.stdout, o
    elif e.kind == "calibrate":
        m = re.search(r"fitted scenario written to (.+)$", o.stdout, re.MULTILINE)
        assert m, o
        from gridsim import load_scenario

        load_scenario(box.resolve(m.group(1).strip()))


def _check_message(o: Outcome, e: Expect) -> None:
    lines = o.stderr.rstrip("\n").splitlines()
    assert lines, f"exit 2 without a message\n{o}"
    head = HEADER.match(lines[0])
    if head:
        problems = lines[1:]
        assert int(head["n"]) == len(problems), f"header counts {head['n']} problems, " \
                                                f"{len(problems)} lines follow\n{o}"
        sources = {e.file, "--set"} if e.file else {"--set"}
        assert head["source"] in sources, f"the message must name the file {e.file!r}\n{o}"
        rests = []
        for p in problems:
            assert p.startswith("  ") and p.strip(), f"malformed problem line {p!r}\n{o}"
            m = LINE.match(p.strip())
            rest = m["rest"] if m else p.strip()
            whole_file = re.search(r"file|cannot read|not found", rest)
            assert m or not rest.startswith("(top level)") or whole_file, \
                f"a problem without YAML path or line: {p!r}\n{o}"
            rests.append(rest)
        if e.path is not None:
            assert any(_names_path(r, e) for r in rests), (
                f"no problem names {yaml_path(e.path)!r} (or {e.names})\n{o}")
        return
    if lines[-1].startswith("gridsim: ") and len(lines) == 1:
        _names_option(lines[-1], e, o)
        return
    # argparse's mistakes: one line naming the command and the option, pointing at --help
    usage = re.match(r"^gridsim(?: [\w-]+)?: (.+) \(see 'gridsim(?: [\w-]+)? --help'\)$",
                     lines[-1])
    assert usage and len(lines) == 1, f"not one clear line\n{o}"
    _names_option(lines[-1], e, o)


def _names_path(rest: str, e: Expect) -> bool:
    for k in range(len(e.path), 0, -1):
        yp = yaml_path(e.path[:k])
        if rest.startswith(yp) and rest[len(yp):len(yp) + 1] in (":", ".", "["):
            return True
    words = (str(e.path[-1]),) + e.names if e.path else e.names
    return any(w and w in rest for w in words) or "--set" in rest


def _names_option(line: str, e: Expect, o: Outcome) -> None:
    words = [w.lstrip("-") for w in e.options] + list(e.names)
    if e.file:
        words.append(e.file)
    low = line.lower()
    assert not words or any(w.lower() in low or w.lower().replace("-", " ") in low
                            for w in words if w), \
        f"the message names none of {words}\n{o}"


def finite(x: float) -> bool:
    return isinstance(x, int) or math.isfinite(x)
