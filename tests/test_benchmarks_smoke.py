"""``python benchmarks/run.py --quick`` runs end to end (a smoke test, no timing assertions)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmarks_quick(tmp_path: Path) -> None:
    out = tmp_path / "latest.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--json", str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "issues/s" in proc.stdout
    report = json.loads(out.read_text(encoding="utf-8"))
    lifecycle = [r for r in report["rows"] if r["benchmark"] == "lifecycle"]
    assert [r["name"].split(" · ")[1] for r in lifecycle] == ["baseline", "whistle", "four_tier"]
    assert all(r["issues"] > 0 and r["issues_per_s"] > 0 for r in lifecycle)
    assert any(r["name"].startswith("SimPy") and r["wall_s"] > 0 for r in report["rows"])
