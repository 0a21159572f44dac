"""The report of a staffing optimisation (``gridsim optimise``): the frontier plot and the HTML
page, built on a folder written by hand in the format ``Optimisation.write`` produces, checked
against its files, through the CLI and in a real browser."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from browser import browse, dom

from gridsim.optimise.plots import write_frontier
from gridsim.report import ReportError, render_report, write_report

ENF, OFF = "streets.staff.enforcement", "streets.staff.office"
STREETS = ["Riverside/s1", "Riverside/s5", "Old <Town> & Co/s2"]
FIXED = 160  # heads the optimisation does not vary
TARGETS = [
    {"text": "on_time_rate>=0.9 @ street=*", "metric": "on_time_rate", "sense": ">=",
     "bound": 0.9, "scope": "street=*", "per_unit": True},
    {"text": "resolution_time_mean<=36", "metric": "resolution_time_mean", "sense": "<=",
     "bound": 36.0, "scope": "all", "per_unit": False},
]
EVALUATED = [(12, 8), (11, 8), (10, 8), (10, 7), (9, 7), (9, 6), (8, 7), (8, 6), (9, 5),
             (7, 7), (8, 5), (12, 4)]
"""(enforcement, office) per street of each candidate, in the order evaluated."""
CHOSEN = (9, 6)
OFFSET = [0.025, 0.0, 0.015]  # Riverside/s5 is the weakest street


def _on_time(e: int, o: int, street: int) -> float:
    """A made-up on-time share that rises with the staff."""
    return min(0.99, 0.57 + 0.03 * e + 0.012 * o + OFFSET[street])


def _time(e: int, o: int) -> float:
    return 61.0 - 2.0 * e - 1.5 * o


def _status(low: float, high: float, bound: float, sense: str) -> str:
    """Met when the whole interval is on the right side of the bound, violated when it is all
    on the wrong side."""
    ok = [v >= bound if sense == ">=" else v <= bound for v in (low, high)]
    return "met" if all(ok) else "violated" if not any(ok) else "undecided"


def build_folder(folder: Path) -> Path:
    """An optimisation's results folder, as ``Optimisation.write`` lays it out."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "experiment.json").write_text(json.dumps(
        {"fingerprint": {"kind": "optimise", "scenario": "default-8"}}), encoding="utf-8")
    rows, constraints = [], []
    for i, (e, o) in enumerate(EVALUATED):
        heads = FIXED + 8 * (e + o)
        row = {"candidate": i, "label": f"enforcement={e}, office={o}", "cost": float(heads),
               "heads": heads, "chosen": (e, o) == CHOSEN, ENF: e, OFF: o}
        states = []
        for k, t in enumerate(TARGETS):
            units = STREETS if t["per_unit"] else ["all"]
            hw = 0.008 if k == 0 else 1.5
            c = []
            for s, unit in enumerate(units):
                mean = _on_time(e, o, s) if k == 0 else _time(e, o)
                c.append({"candidate": i, "target": t["text"], "unit": unit, "mean": mean,
                          "low": mean - hw, "high": mean + hw, "bound": t["bound"],
                          "status": _status(mean - hw, mean + hw, t["bound"], t["sense"])})
            constraints += c
            w = min(c, key=lambda r: r["mean"]) if t["per_unit"] else c[0]
            row |= {f"t{k}_mean": w["mean"], f"t{k}_low": w["low"], f"t{k}_high": w["high"],
                    f"t{k}_status": w["status"], f"t{k}_unit": w["unit"]}
            states += [r["status"] for r in c]
        row["status"] = ("infeasible" if "violated" in states else "undecided"
                         if "undecided" in states else "feasible")
        row["replications"] = 40 if row["status"] == "feasible" else 20
        rows.append(row)
    candidates = pd.DataFrame(rows)
    best = candidates.sort_values("cost").groupby("cost")["t0_mean"].max()
    front = best[best > best.cummax().shift(fill_value=-1.0)]  # better than anything cheaper
    candidates["frontier"] = [bool(c in front.index and m == front[c])
                              for c, m in zip(candidates["cost"], candidates["t0_mean"],
                                              strict=True)]
    order = ["candidate", "label", "cost", "heads", "replications", "status", "chosen",
             "frontier", ENF, OFF]
    candidates = candidates[order + [c for c in candidates if c not in order]]
    candidates.to_csv(folder / "candidates.csv", index=False)
    cons = pd.DataFrame(constraints)
    cons.to_csv(folder / "constraints.csv", index=False)
    e, o = CHOSEN
    pd.DataFrame(
        [{"target": TARGETS[0]["text"], "unit": u, "mean": _on_time(e, o, s) + 0.004,
          "low": _on_time(e, o, s) - 0.004, "high": _on_time(e, o, s) + 0.012, "bound": 0.9,
          "status": "met", "met": True} for s, u in enumerate(STREETS)]
        + [{"target": TARGETS[1]["text"], "unit": "all", "mean": 34.6, "low": 33.9,
            "high": 35.3, "bound": 36.0, "status": "met", "met": True}]).to_csv(
        folder / "confirmation.csv", index=False)
    binding = []  # as Optimisation.binding writes it: the value one step down, the candidate
    for path, value, neighbour in ((ENF, e - 1, (e - 1, o)), (OFF, o - 1, (e, o - 1))):
        n = EVALUATED.index(neighbour)
        for r in cons[(cons["candidate"] == n) & (cons["status"] != "met")].itertuples():
            binding.append({"variable": path, "value": value, "neighbour": n,
                            "target": r.target, "unit": r.unit, "mean": r.mean,
                            "bound": r.bound, "status": r.status})
    pd.DataFrame(binding).to_csv(folder / "binding.csv", index=False)
    meta = {
        "scenario": {"name": "default-8", "description": "Eight streets & <two> new areas",
                     "source": "scenarios/default.yaml"},
        "objective": "cost", "cost_unit": "heads", "budget": None, "level": 0.95, "seed": 7,
        "variables": [
            {"path": ENF, "low": 2, "high": 20, "step": 1, "base": 12, "kind": "enforcement",
             "pools": 8, "per_head": 1.0},
            {"path": OFF, "low": 2, "high": 12, "step": 1, "base": 8, "kind": "office",
             "pools": 8, "per_head": 1.0}],
        "targets": TARGETS,
        "chosen": {"candidate": EVALUATED.index(CHOSEN), "values": {ENF: 9, OFF: 6},
                   "cost": 280.0, "heads": 280, "feasible": True, "status": "feasible"},
        "confirmation": {"seed": 1007, "replications": 20, "feasible": True},
        "replications": {"pilot": 2, "search": 300, "confirmation": 20, "exhaustive": 3420},
        "evaluations": len(EVALUATED),
        "search": [
            {"step": 1, "phase": "start", "candidate": 0, "move": "the scenario's staffing",
             "decision": "feasible (40 replications)"},
            {"step": 2, "phase": "greedy", "candidate": 1, "move": f"{ENF} 12 -> 11",
             "decision": "feasible (40 replications)"},
            {"step": 3, "phase": "descent", "candidate": 7, "move": f"{ENF} 9 -> 8",
             "decision": "infeasible: on_time_rate at Riverside/s5"},
            {"step": 4, "phase": "descent", "candidate": 8, "move": f"{OFF} 6 -> 5",
             "decision": "undecided after 20 replications: kept 6"},
            {"step": 5, "phase": "confirm", "candidate": 5, "move": "fresh seeds",
             "decision": "meets every target on 20 replications"}],
        "bounds": [
            {"path": ENF, "offered_load": 6.3, "least_stable": 7, "erlang_c_guess": 9},
            {"path": OFF, "offered_load": 4.1, "least_stable": 5, "erlang_c_guess": 6}],
        "notes": ["Two streets <script>alert(1)</script> share one enforcement team."],
    }
    (folder / "optimise.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    (folder / "optimum.yaml").write_text("name: default-8-optimum\n", encoding="utf-8")
    write_frontier(candidates, meta, folder)
    return folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return build_folder(tmp_path_factory.mktemp("optimise") / "opt")


@pytest.fixture(scope="module")
def page(folder) -> str:
    return write_report(folder).read_text(encoding="utf-8")


def _section(text: str, id_: str) -> str:
    start = text.index(f'<section id="{id_}"')
    return text[start:text.index("</section>", start)]


# ------------------------------------------------------------------------ the plot
def test_the_frontier_plot_is_written_as_a_png(folder):
    import matplotlib.image as mpimg

    png = folder / "plots" / "frontier.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = mpimg.imread(png)
    assert img.shape[1] == 950 and img.shape[0] > 600  # two panels, one per target
    assert not list((folder / "plots").glob(".*"))  # through a temporary file


def test_frontier_draws_on_a_given_axes(folder):
    from matplotlib.figure import Figure

    from gridsim.optimise.plots import frontier

    meta = json.loads((folder / "optimise.json").read_text())
    ax = Figure().add_subplot()
    assert frontier(pd.read_csv(folder / "candidates.csv"), meta, ax) is ax
    assert ax.get_xlabel() == "cost (heads)" and ax.get_ylabel() == "Closed on time (worst street)"


# ------------------------------------------------------------------------ the page
def test_the_page_has_its_sections_in_the_contents(page):
    assert "gridsim staffing optimisation report" in page
    ids = ["summary", "targets", "binding", "frontier", "start", "search", "notes"]
    for id_ in ids:
        assert f'<section id="{id_}"' in page and f'href="#{id_}"' in page, id_
    nav = page[page.index("<nav"):page.index("</nav>")]
    assert re.findall(r'href="#(\w+)"', nav) == ids
    assert "<script" not in page and "<link" not in page and 'src="http' not in page


def test_the_summary_gives_the_chosen_allocation_against_the_base(page):
    s = _section(page, "summary")
    assert "Enforcement officers per street" in s and "Office workers per street" in s
    assert "12 \u2192 9" in s and "8 \u2192 6" in s
    assert "280 heads" in s and "\u221240 heads (\u221212.5%)" in s
    assert "320 heads" in s  # the scenario's: 160 + 8 * (12 + 8)
    assert "meets every target on 20 fresh replications" in s
    assert ">2<" in s and ">300<" in s and ">20<" in s and "3,420" in s
    assert f"{len(EVALUATED)} allocations" in s


def test_targets_show_the_confirmation_per_unit(folder, page):
    s = _section(page, "targets")
    conf = pd.read_csv(folder / "confirmation.csv")
    assert "Closed on time \u2265 90.0% in every street" in s
    for r in conf[conf["unit"] != "all"].itertuples():
        assert html.escape(r.unit) in s and f"{r.mean * 100:.1f}%" in s
    assert "Old &lt;Town&gt; &amp; Co/s2" in s and "Old <Town>" not in page
    assert "34.6 h" in s and "36.0 h" in s and "met" in s
    # the tightest street first
    assert s.index("Riverside/s5") < s.index("Riverside/s1")


def test_what_binds_is_said_in_words(page):
    s = _section(page, "binding")
    assert "One fewer enforcement officer per street" in s
    assert "street Riverside/s5 misses Closed on time \u2265 90.0%" in s
    assert "estimated at 88.2%" in s
    assert "One fewer office worker per street" in s and "may miss" in s
    # the worst failure first, the others one step down named after it
    enforcement = s[:s.index("streets.staff.enforcement</code>")]
    also = enforcement[enforcement.index("Also failing or too close to call there: "):]
    assert "street Riverside/s1 (Closed on time, 90.7%)" in also  # too close to call there
    assert "the whole area (Resolution time, mean, 36.0 h)" in enforcement


def test_binding_in_the_briefs_format_reads_the_same(folder, tmp_path):
    """A binding table that gives the chosen value and the one below it (not the candidate)."""
    import shutil

    here = shutil.copytree(folder, tmp_path / "brief")
    pd.DataFrame([{"variable": ENF, "value": 9, "neighbour": 8, "target": TARGETS[0]["text"],
                   "unit": "Riverside/s5", "mean": 0.882, "bound": 0.9,
                   "status": "violated"}]).to_csv(here / "binding.csv", index=False)
    s = _section(render_report(here), "binding")
    assert "One fewer enforcement officer per street (9 \u2192 8): street Riverside/s5 misses" in s


def test_the_frontier_section_embeds_the_plot_and_lists_frontier_candidates_first(folder, page):
    s = _section(page, "frontier")
    assert s.count('src="data:image/png;base64,') == 1
    c = pd.read_csv(folder / "candidates.csv")
    rows = re.findall(r'<tr class="([^"]*)"', s)
    assert len(rows) == len(c)
    front = int(c["frontier"].sum())
    assert all("frontier" in r for r in rows[:front]) and not any(
        "frontier" in r for r in rows[front:])
    assert sum("chosen" in r for r in rows) == 1
    for st in ("feasible", "infeasible", "undecided"):
        assert f'class="badge opt-st opt-{st}"' in s
    assert 'title="enforcement=9, office=6"' in s


def test_many_candidates_fold_all_but_the_frontier_and_the_chosen(folder, monkeypatch):
    from gridsim.report import optimise

    monkeypatch.setattr(optimise, "MAX_CANDIDATES", 5)
    s = _section(render_report(folder), "frontier")
    shown, rest = s.split("<details>")
    c = pd.read_csv(folder / "candidates.csv")
    assert shown.count("<tr class=") == int((c["frontier"] | c["chosen"]).sum())
    assert f"The other {len(c) - shown.count('<tr class=')} allocations" in rest
    assert 'class="badge opt-st opt-feasible"' in rest


def test_starting_point_search_and_notes(page):
    s = _section(page, "start")
    assert "6.3" in s and ">7<" in s and ">9<" in s and "4.1" in s
    s = _section(page, "search")
    assert "enforcement officers per street 12 \u2192 11" in s
    assert "Confirmation on fresh seeds" in s and "->" not in s
    s = _section(page, "notes")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in s
    assert "Eight streets &amp; &lt;two&gt; new areas" in page


def test_a_search_that_found_nothing_says_so(folder, tmp_path):
    """No feasible staffing, nothing evaluated one step cheaper, a budget and a KPI to
    maximise: the page still renders and says what happened in words."""
    import shutil

    here = shutil.copytree(folder, tmp_path / "none")
    meta = json.loads((here / "optimise.json").read_text())
    meta |= {"objective": "maximise on_time_rate", "budget": 300.0, "notes": [], "search": []}
    meta["chosen"] |= {"status": "infeasible", "feasible": False}
    meta["variables"][1]["low"] = 6  # the chosen 6 office workers: the bottom of the range
    (here / "optimise.json").write_text(json.dumps(meta), encoding="utf-8")
    (here / "binding.csv").write_text("variable,value,neighbour,target,unit,mean,bound,status\n")
    (here / "plots" / "frontier.png").unlink()
    text = render_report(here)
    s = _section(text, "summary")
    assert "No staffing in the search ranges met every target." in s
    assert "the best Closed on time (on_time_rate)" in text and "300 heads" in text
    s = _section(text, "binding")
    assert "no allocation one step lower was evaluated" in s
    assert "Office workers per street cannot go lower: 6 is the bottom" in s
    assert 'id="search"' not in text and 'id="notes"' not in text and 'href="#notes"' not in text
    assert "No frontier plot in this folder" in _section(text, "frontier")


def test_a_folder_written_without_a_search_folder_is_known_by_optimise_json(folder, tmp_path):
    """``Optimisation.write(folder)`` outside the search's own folder writes no
    experiment.json: the page is still the optimisation's."""
    import shutil

    here = shutil.copytree(folder, tmp_path / "bare")
    (here / "experiment.json").unlink()
    assert "gridsim staffing optimisation report" in render_report(here)
    (here / "optimise.json").write_text("[]", encoding="utf-8")  # not ours: not a folder
    with pytest.raises(ReportError, match="not a gridsim results folder"):
        render_report(here)


def test_other_pages_keep_their_contents(tmp_path):
    """An experiment folder without optimise.json is still an experiment page."""
    (tmp_path / "experiment.json").write_text(json.dumps({"fingerprint": {"kind": "compare"}}))
    with pytest.raises(ReportError, match="not been written"):
        render_report(tmp_path)


def test_a_damaged_optimise_json_is_a_report_error(folder, tmp_path, run_cli):
    import shutil

    bad = shutil.copytree(folder, tmp_path / "bad")
    (bad / "report.html").unlink(missing_ok=True)
    (bad / "optimise.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ReportError, match="optimise.json"):
        render_report(bad)
    proc = run_cli("report", str(bad))
    assert proc.returncode == 2 and not (bad / "report.html").exists()
    assert len(proc.stderr.strip().splitlines()) == 1 and "optimise.json" in proc.stderr
    (bad / "optimise.json").write_text(json.dumps({"scenario": {}}), encoding="utf-8")
    with pytest.raises(ReportError, match="optimis"):
        render_report(bad)


def test_cli_writes_the_report(folder, tmp_path, run_cli):
    import shutil

    here = shutil.copytree(folder, tmp_path / "opt")
    (here / "report.html").unlink(missing_ok=True)
    proc = run_cli("report", str(here))
    assert proc.returncode == 0, proc.stderr
    assert (here / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


# ------------------------------------------------------------------------ a real browser
def test_the_page_lays_out_in_chromium(folder, page, tmp_path):
    import matplotlib.image as mpimg

    report = folder / "report.html"
    body = dom(report, tmp_path / "profile")
    assert '<section id="frontier"' in body and body.count("<tr") >= 20
    shot = Path("/work/notes/optimise_report.png")
    if not shot.parent.is_dir():
        shot = tmp_path / "shot.png"
    done = browse(report, tmp_path / "profile2", f"--screenshot={shot}",
                  "--window-size=1280,3000")
    assert shot.is_file(), done.stderr[-2000:]
    img = mpimg.imread(shot)[..., :3]
    assert img.shape[:2] == (3000, 1280) and img.std() > 0.05
    dark = img.min(axis=2) < 0.6
    assert dark.any(axis=1).mean() > 0.3  # content down the page


PROBE = """<script>window.addEventListener("load", () => {
  const img = document.querySelector("#frontier img"), b = document.body;
  const box = img.getBoundingClientRect();
  b.dataset.img = `${Math.round(box.width)}x${Math.round(box.height)}x${img.naturalWidth}`;
  b.dataset.table = Math.round(document.querySelector("table.candidates")
                                  .getBoundingClientRect().width);
  b.dataset.page = document.documentElement.scrollWidth;
});</script></body>"""


def test_the_frontier_image_and_table_have_room(folder, page, tmp_path):
    """A copy of the page with a probe (the page itself has no scripts): the plot is decoded
    and laid out at its width, and nothing pushes the page wider than the window."""
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", PROBE), encoding="utf-8")
    done = browse(probe, tmp_path / "profile", "--dump-dom", "--window-size=1280,3000")
    body = done.stdout
    found = re.search(r'data-img="(\d+)x(\d+)x(\d+)" data-table="(\d+)" data-page="(\d+)"',
                      body)
    assert found, body[:500]
    width, height, natural, table_width, page_width = map(int, found.groups())
    assert natural == 950 and 600 < width <= 950 and height > 400
    assert table_width > 600 and page_width <= 1280
