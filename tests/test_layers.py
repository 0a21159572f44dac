"""Imports go one way: the layers of pyproject.toml's import-linter contract, no import cycles,
no import inside a function (except to defer a heavy library that only some calls need).

The contract's layers, highest first: cli, report, optimise, validation, experiments, runner,
parallel, arguments, results, model, plan, scenario, policies, distributions, units, vocabulary.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gridsim"
DEFERRED = ("scipy", "matplotlib", "dask", "gridsim.results.plots", "gridsim.experiments.plots",
            "gridsim.optimise.plots")
"""What a function may import for itself: libraries that take a second to load and that only
some calls need (statistics, plots, a Dask cluster), and the plot modules that import them."""
NOT_YET: set[str] = set()
"""Files the rule does not cover yet: the command line is being rewritten on another branch (its
imports inside functions keep ``gridsim --help`` fast); the rewrite should drop this exemption."""


def _lint(root: Path) -> subprocess.CompletedProcess:
    """import-linter's contracts of ``root``/pyproject.toml over ``root``/gridsim."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    code = ("import sys\nfrom importlinter.configuration import configure\n"
            "from importlinter.application.use_cases import lint_imports\nconfigure()\n"
            "sys.exit(0 if lint_imports(config_filename='pyproject.toml', cache_dir=None, "
            "no_logo=True) else 1)")
    return subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True,
                          text=True, timeout=120)


def test_layers_import_downward_only():
    out = _lint(ROOT)
    assert out.returncode == 0, out.stdout + out.stderr


def test_an_upward_import_breaks_the_contract(tmp_path):
    """The contract can fail: the scenario layer importing the model is refused."""
    shutil.copytree(PACKAGE, tmp_path / "gridsim", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    checks = tmp_path / "gridsim" / "scenario" / "checks.py"
    checks.write_text(checks.read_text() + "\nfrom ..model import streams  # noqa\n")
    out = _lint(tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "gridsim.scenario.checks -> gridsim.model.streams" in out.stdout, out.stdout


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(m: str) -> None:
        index[m] = low[m] = len(index)
        stack.append(m)
        on.add(m)
        for n in graph.find_modules_directly_imported_by(m):
            if n not in index:
                visit(n)
                low[m] = min(low[m], low[n])
            elif n in on:
                low[m] = min(low[m], index[n])
        if low[m] == index[m]:
            group = []
            while True:
                n = stack.pop()
                on.discard(n)
                group.append(n)
                if n == m:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for m in sorted(graph.modules):
        if m not in index:
            visit(m)
    return out


def test_no_import_cycles():
    graph = grimp.build_graph("gridsim", exclude_type_checking_imports=True, cache_dir=None)
    # a package's __init__ importing its own modules is how it exports them, not a cycle
    for m in graph.modules:
        for n in graph.find_modules_directly_imported_by(m):
            if n.startswith(m + "."):
                graph.remove_import(importer=m, imported=n)
    assert _cycles(graph) == []


def _function_imports(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """``(line, module)`` of every import inside a function of ``path`` (under ``root``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    out = []
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.Import):
                out += [(node.lineno, a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")[:len(package.split(".")) - node.level + 1] \
                    if node.level else []
                module = ".".join([*base, *([node.module] if node.module else [])])
                out += [(node.lineno, module if node.module else f"{module}.{a.name}")
                        for a in node.names]
    return sorted(set(out))


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_imports_inside_functions(path):
    if str(path.relative_to(ROOT)) in NOT_YET:
        pytest.skip("covered once the command line's rewrite lands")
    bad = [(line, m) for line, m in _function_imports(path)
           if not any(m == d or m.startswith(d + ".") for d in DEFERRED)]
    assert bad == [], f"{path.name}: imports inside functions (move them to the top): {bad}"


def test_the_function_import_check_sees_one(tmp_path):
    """The check can fail: an import inside a function is found, with its absolute name."""
    (tmp_path / "gridsim").mkdir()
    probe = tmp_path / "gridsim" / "probe.py"
    probe.write_text("import os\n\n\ndef f():\n    from . import runner\n    import scipy\n")
    assert _function_imports(probe, tmp_path) == [(5, "gridsim.runner"), (6, "scipy")]


def test_import_gridsim_loads_no_deferred_library():
    """``import gridsim`` (every CLI start and every worker process) must not load the heavy
    libraries that only some calls need: scipy alone took a second more at every start."""
    code = ("import sys, gridsim, gridsim.cli\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'scipy', 'matplotlib', "
            "'dask'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stdout
