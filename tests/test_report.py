"""The HTML report: written for runs and experiments, self-contained, faithful to the files,
and rendered by a real browser."""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from browser import browse, dom

import gridsim
from gridsim.experiments import compare
from gridsim.report import ReportError, write_report

MINUS = "\u2212"


@pytest.fixture(scope="module")
def folders(tmp_path_factory, default_scenario) -> dict[str, Path]:
    """A tiny single run and a tiny two-policy comparison, written with their plots."""
    root = tmp_path_factory.mktemp("report")
    s = default_scenario.with_overrides({"horizon": "8d", "warmup": "2d", "streets.count": 2})
    run = gridsim.simulate(s, seed=3).write(root / "run")
    exp = compare(s, policies=["baseline", "four_tier"], replications=2, workers=1,
                  out=root / "compare").write()
    return {"run": run, "experiment": exp}


@pytest.fixture(scope="module")
def reports(folders) -> dict[str, str]:
    out = {}
    for kind, folder in folders.items():
        path = write_report(folder)
        assert path == folder / "report.html"
        out[kind] = path.read_text(encoding="utf-8")
    return out


def _hours(v: float) -> str:
    """Hours as the report shows them: about three significant figures."""
    return f"{v:,.0f} h" if abs(v) >= 100 else f"{v:,.1f} h" if abs(v) >= 10 else f"{v:.2f} h"


def _signed(s: str) -> str:
    return s.replace("-", MINUS)


# ------------------------------------------------------------------------ both kinds
@pytest.mark.parametrize("kind", ["run", "experiment"])
def test_report_is_one_complete_html_file(folders, reports, kind):
    text = reports[kind]
    assert text.startswith("<!DOCTYPE html>")
    assert text.rstrip().endswith("</html>")
    assert '<meta charset="utf-8">' in text and 'name="viewport"' in text
    leftovers = [p.name for p in folders[kind].iterdir() if p.name.startswith(".report")]
    assert leftovers == []  # written through a temporary file and a rename


@pytest.mark.parametrize("kind", ["run", "experiment"])
def test_report_is_self_contained(folders, reports, kind):
    text = reports[kind]
    assert 'src="http' not in text and "src='http" not in text
    assert "<link" not in text and "<script" not in text and "@import" not in text
    assert "url(" not in text  # no fonts or images fetched by the CSS
    srcs = re.findall(r'<img [^>]*src="([^"]+)"', text)
    pngs = sorted((folders[kind] / "plots").glob("*.png"))
    assert pngs and len(srcs) == len(pngs)
    assert all(s.startswith("data:image/png;base64,") for s in srcs)
    embedded = {base64.b64decode(s.split(",", 1)[1]) for s in srcs}
    assert embedded == {p.read_bytes() for p in pngs}


def test_run_report_shows_the_kpis_of_the_run(folders, reports):
    text = reports["run"]
    kpis = pd.read_csv(folders["run"] / "kpis.csv")
    k = kpis[kpis["scope"] == "all"].set_index("metric")["value"]
    manifest = json.loads((folders["run"] / "manifest.json").read_text())
    assert f"{k['on_time_rate'] * 100:.1f}%" in text
    assert f"{k['resolution_rate'] * 100:.1f}%" in text
    assert _hours(k["resolution_time_mean"]) in text
    assert f"{k['resolution_time_p90'] / 24:.2f} d" in text or k["resolution_time_p90"] >= 240
    assert f">{k['backlog_end']:,.0f}<" in text
    assert f">{k['cases']:,.0f}<" in text
    for metric in ("resolution_time_median", "resolution_time_p95", "solved_share_grid",
                   "solved_share_city", "whistles", "dept_report_time_mean",
                   "dept_report_on_time_rate", "reroutes_per_case", "reopen_rate"):
        assert f"<code class=\"sub\">{metric}</code>" in text, metric
    sc = manifest["scenario"]
    for fact in (sc["name"], sc["policy"]["name"], sc["horizon"], sc["warmup"],
                 str(manifest["seed"]), manifest["gridsim_version"], "2026-", "Streets"):
        assert html.escape(str(fact)) in text, fact
    assert json.loads((folders["run"] / "summary.json").read_text())["bottleneck"]["pool"] in text


def test_experiment_report_shows_intervals_differences_and_the_best(folders, reports):
    text = reports["experiment"]
    folder = folders["experiment"]
    meta = json.loads((folder / "experiment.json").read_text())
    summary = pd.read_csv(folder / "summary.csv")
    overall = summary[summary["scope"] == "all"].set_index(["point", "metric"])
    for point in ("baseline", "four_tier"):
        r = overall.loc[(point, "on_time_rate")]
        assert f"{r['mean'] * 100:.1f}%" in text
        assert _signed(f"{r['low'] * 100:.1f} to {r['high'] * 100:.1f}%") in text
        assert _hours(overall.loc[(point, "resolution_time_mean"), "mean"]) in text
    assert "95% CI" in text

    # the best sentence, as experiment.json words it
    assert meta["best"]["text"] and html.escape(meta["best"]["text"]) in text

    # paired differences with the significance the file gives
    diffs = pd.read_csv(folder / "differences.csv")
    d = diffs[diffs["scope"] == "all"].set_index("metric")
    table = text[text.index('class="differences'):]
    table = table[:table.index("</table>")]
    for metric in ("resolution_time_mean", "on_time_rate", "backlog_end"):
        row = re.search(rf"<tr>(?:(?!</tr>).)*>{metric}</code>.*?</tr>", table, re.S)
        assert row, metric
        cells = row.group(0)
        r = d.loc[metric]
        if metric == "on_time_rate":
            assert _signed(f"{r['difference'] * 100:+.1f} pp") in cells
        elif metric == "resolution_time_mean":
            sign = "+" if r["difference"] > 0 else MINUS
            assert sign + _hours(abs(r["difference"])) in cells
        better = r["difference"] > 0 if metric == "on_time_rate" else r["difference"] < 0
        small = {"on_time_rate": 0.01, "resolution_time_mean": 1.0}.get(metric, 0)
        marker = ("not significant" if not r["significant"]
                  else "no practical difference" if abs(r["difference"]) < small
                  else "\u00b7 better" if better else "\u00b7 worse")
        assert marker in cells, (metric, cells)

    # bottleneck per variant, most loaded units, design
    for b in meta["bottlenecks"]:
        assert html.escape(b["unit"]) in text
    ml = pd.read_csv(folder / "most_loaded.csv")
    top = ml[(ml["level"] == "pool") & (ml["rank"] == 1)]
    assert all(u in text for u in top["unit"])
    for s in meta["seeds"]:
        assert str(s) in text
    assert "Failed replications" not in text


def test_failures_are_listed(folders, tmp_path):
    folder = shutil.copytree(folders["experiment"], tmp_path / "failed")
    meta_path = folder / "experiment.json"
    meta = json.loads(meta_path.read_text())
    meta["failures"] = [{"point": "four_tier", "replication": 1, "seed": 42,
                         "error": "Traceback (most recent call last):\nValueError: <boom>"}]
    meta_path.write_text(json.dumps(meta))
    text = write_report(folder).read_text()
    assert "Failed replications (1)" in text
    assert "ValueError: &lt;boom&gt;" in text and "<boom>" not in text


def test_text_from_the_folder_is_escaped(folders, tmp_path):
    folder = shutil.copytree(folders["run"], tmp_path / "run")
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["scenario"]["description"] = '<img src="http://example.com/x.png"> & more'
    path.write_text(json.dumps(manifest))
    text = write_report(folder).read_text()
    assert 'src="http' not in text
    assert "&lt;img src=&quot;http://example.com/x.png&quot;&gt; &amp; more" in text


# ------------------------------------------------------------------------ bad folders
def test_a_folder_that_is_neither_kind_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ReportError, match=re.escape(str(tmp_path))) as err:
        write_report(tmp_path)
    assert isinstance(err.value, ValueError)
    assert "experiment.json" in str(err.value) and "manifest.json" in str(err.value)
    assert not (tmp_path / "report.html").exists()
    with pytest.raises(ReportError, match="no such folder"):
        write_report(tmp_path / "missing")


def test_an_unfinished_experiment_is_refused(tmp_path):
    (tmp_path / "experiment.json").write_text(json.dumps({"fingerprint": {"kind": "compare"}}))
    with pytest.raises(ReportError, match="not been written"):
        write_report(tmp_path)
    (tmp_path / "experiment.json").write_text("{not json")
    with pytest.raises(ReportError, match="experiment.json"):
        write_report(tmp_path)


# ------------------------------------------------------------------------ a real browser
@pytest.mark.parametrize("kind", ["run", "experiment"])
def test_report_renders_in_headless_chromium(folders, reports, kind, tmp_path):
    import matplotlib.image as mpimg

    page = folders[kind] / "report.html"
    shot = tmp_path / "shot.png"
    done = browse(page, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2000")
    assert shot.is_file(), done.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000
    img = mpimg.imread(shot)[..., :3]
    assert img.shape[:2] == (2000, 1280)
    assert img.std() > 0.05  # not a blank page
    dark = img.min(axis=2) < 0.6  # pixels clearly darker than white: text, rules, plots
    assert 0.005 < dark.mean() < 0.6
    assert dark.any(axis=1).mean() > 0.3  # content down the whole page, not one line

    body = dom(page, tmp_path / "profile2")
    assert '<table class="kpis' in body and "</table>" in body
    assert len(re.findall(r"<tr>", body)) >= 20
    assert body.count('src="data:image/png;base64,') == len(
        list((folders[kind] / "plots").glob("*.png")))
    assert "resolution_time_mean" in body
    if kind == "experiment":
        best = json.loads((folders[kind] / "experiment.json").read_text())["best"]["text"]
        assert html.escape(best) in body and '<table class="differences' in body
    # the organisation heat map: one panel per variant (a run: one), each with its streets
    points = ["baseline", "four_tier"] if kind == "experiment" else [""]
    first = body.split('<div class="hm-view"')[1]  # the default KPI's view
    chunks = first.split('<div class="hm-panel" data-point="')[1:]
    streets = {c.split('"', 1)[0]: c.count('class="hm-cell hm-s"') for c in chunks}
    assert streets == dict.fromkeys(points, 2)  # streets.count 2


def test_unit_tables_come_from_units_csv_whatever_the_record_level(folders, reports, tmp_path,
                                                                 default_scenario):
    """``units.csv`` (cases, open and overdue at the end per unit, from the KPI accumulator)
    agrees with the issue table, and a run that kept no issue rows (level kpis, sharded) still
    gets its most-loaded units in the report."""
    from gridsim.units import parse_duration

    units = pd.read_csv(folders["run"] / "units.csv")
    issues = pd.read_parquet(folders["run"] / "issues.parquet")
    horizon = json.loads((folders["run"] / "manifest.json").read_text())["scenario"]["horizon"]
    hours = parse_duration(horizon).hours
    open_ = issues["state"] != "closed"
    for level in ("street", "grid"):
        got = units[units["level"] == level].set_index("unit")
        want = issues.groupby(issues[level].astype(str)).agg(
            cases=("state", "size"), open_end=("state", lambda s: (s != "closed").sum()))
        want["overdue_end"] = (open_ & (issues["deadline"] < hours)).groupby(
            issues[level].astype(str)).sum()
        pd.testing.assert_frame_equal(got.loc[want.index, want.columns], want,
                                      check_dtype=False, check_names=False)
    worst = units[units["level"] == "street"].sort_values(
        ["overdue_end", "open_end", "cases"], ascending=False).iloc[0]
    assert "Streets by overdue open cases at the end" in reports["run"]
    assert html.escape(worst["unit"]) in reports["run"]

    s = default_scenario.with_overrides({
        "horizon": "6d", "warmup": "1d", "streets.count": 2, "districts[0].count": 2,
        "city.per_district": True})
    folder = gridsim.simulate(s, seed=2, record="kpis", shards="auto", workers=1).write(
        tmp_path / "kpis", plot=False)
    assert not (folder / "issues.parquet").exists()
    text = write_report(folder).read_text(encoding="utf-8")
    for title in ("Departments", "Streets", "Communities", "Grids"):
        assert f"{title} by overdue open cases at the end" in text, title


# ------------------------------------------------------------------------ templates
@pytest.mark.parametrize("clear", [True, False])
def test_the_best_callout_says_whether_the_best_is_clear(folders, tmp_path, clear):
    """The callout's colour follows experiment.json's ``best.clear`` (a template reading
    ``best.clear`` off a dict gets ``dict.clear``, which is always true)."""
    folder = shutil.copytree(folders["experiment"], tmp_path / "exp")
    meta_path = folder / "experiment.json"
    meta = json.loads(meta_path.read_text())
    meta["best"]["clear"] = clear
    meta_path.write_text(json.dumps(meta))
    text = write_report(folder).read_text()
    assert ('<div class="callout clear">' in text) is clear
    assert ('<div class="callout unclear">' in text) is not clear
    assert ("\u2605 best" in text) is clear


def test_templates_and_style_sheet_are_package_resources(reports):
    from importlib.resources import files

    templates = files("gridsim.report") / "templates"
    names = {p.name for p in templates.iterdir()}
    assert {"base.html.j2", "run.html.j2", "experiment.html.j2", "report.css"} <= names
    css = (templates / "report.css").read_text(encoding="utf-8")
    for text in reports.values():
        assert f"<style>{css}</style>" in text
    assert (files("gridsim") / "py.typed").is_file()
