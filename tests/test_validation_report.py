"""The validation report (`gridsim validate --report`): every check with its quote, source,
kind, interval, knockout and plot, on one self-contained page, refused over a foreign file, and
laid out by a real browser."""

from __future__ import annotations

import base64
import html
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from browser import browse, dom

from gridsim.report import render_validation, validation_report
from gridsim.report.folder import ReportError
from gridsim.report.validation import NOT_RUN
from gridsim.results.outdir import OutputError
from gridsim.validation import Check, load_checks
from gridsim.validation.run import Measured, _row

FAILED = "zhangwan.collected"
KNOWN = "bazhong.motto.big_matters"
BLUNT = "jianghan.two_way"
"""In the synthetic table: a missed figure, a missed one with a reason on record, and a check
that still passes under its knockout."""
REASON = "the assumed agenda caps the city tier (synthetic reason)"


def _checks() -> list[Check]:
    """The bundled checks, each evidence check with a knockout and one a known failure."""
    out = []
    for c in load_checks():
        update = {}
        if c.kind not in ("fit", "identity"):
            update["knockout"] = {"policy.two_way.share": 0}
            update["mechanism"] = f"the mechanism behind {c.id}"
        if c.id == KNOWN:
            update["known_failure"] = REASON
        out.append(c.model_copy(update=update))
    return out


def _synthetic(checks: list[Check], knockouts: bool) -> pd.DataFrame:
    """A :func:`run_checks` table without a simulation: value checks land on their figure,
    effects on the stated side of 0; :data:`FAILED` and :data:`KNOWN` miss."""
    rows = []
    for c in checks:
        miss = c.id in (FAILED, KNOWN)
        if c.effect is None:
            lo, hi = c.bounds()
            mean = hi + (hi - lo) if miss else c.value
            half = (hi - lo) / 4
            rows.append(_row(c, Measured(mean, mean - half, mean + half, 3, not miss)))
        else:
            sign = -1 if c.effect.direction == "lower" else 1
            low, high = sorted((2.0 * sign, 8.0 * sign))
            rows.append(_row(c, Measured(5.0 * sign, low, high, 3, True)))
        if knockouts:  # the blunt check as before; the others miss: 0 in the interval
            r = rows[-1]
            on = c.knockout is not None
            shift = 0 if c.id == BLUNT else 2 * r["high"] if c.effect is None else -r["simulated"]
            for col in ("simulated", "low", "high"):
                r[f"knockout_{col}"] = r[col] + shift if on else math.nan
            r["knockout_passed"] = (c.id == BLUNT) if on else None
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def checks() -> list[Check]:
    return _checks()


@pytest.fixture(scope="module")
def pages(checks, tmp_path_factory) -> dict[str, Path]:
    """The synthetic table's page without and with the knockout columns."""
    root = tmp_path_factory.mktemp("vreport")
    return {k: validation_report(_synthetic(checks, k == "knockouts"), checks,
                                 root / f"{k}.html", {"Seed": "1"})
            for k in ("plain", "knockouts")}


def _stat(text: str, cls: str) -> int:
    found = re.search(rf'<div class="stat{" " + cls if cls else ""}"><span class="n">(\d+)</span>',
                      text)
    assert found, cls
    return int(found.group(1))


# ------------------------------------------------------------------------ the page's content
def test_summary_counts_checks_passes_failures_and_fits(checks, pages):
    text = pages["plain"].read_text(encoding="utf-8")
    fits = sum(c.kind == "fit" for c in checks)
    assert _stat(text, "") == len(checks)
    assert _stat(text, "pass") == len(checks) - 2
    assert _stat(text, "fail") == 1 and _stat(text, "known") == 1
    assert _stat(text, "fit") == fits > 0
    summary = text.split('<section id="summary">')[1].split("</section>")[0]
    assert f'href="#check-{FAILED.replace(".", "-")}"' in summary.split("Known failures")[0]
    assert REASON in summary


def test_every_check_is_listed_with_quote_source_kind_and_interval(checks, pages):
    text = pages["plain"].read_text(encoding="utf-8")
    rows = text.split('<table class="checks">')[1].split("</table>")[0]
    assert rows.count("<tr>") == len(checks) + 1  # and the head
    for c in checks:
        anchor = "check-" + c.id.replace(".", "-")
        assert f'<a href="#{anchor}">{c.id.replace(".", ".<wbr>")}</a>' in rows
        card = text.split(f'id="{anchor}"')[1].split("</article>")[0]
        quote = html.escape(c.quote)
        assert f'<blockquote class="quote" lang="zh-Hans">{quote}</blockquote>' in card
        assert c.source in card and c.scenario in card and html.escape(c.figure) in card
        assert "95% CI" in card and "n = 3" in card
        assert {"fit": "no evidence", "out_of_sample": "out of sample",
                "structural": "structural", "identity": "identity"}[c.kind] in card
        if c.mechanism:
            assert html.escape(c.mechanism) in card
    assert 'lang="en"' in text and "Noto Sans CJK SC" in text  # a CJK-capable font stack


def test_failure_and_known_failure_are_told_apart(pages):
    """The page can say FAIL: the missed figure with no reason gets the fail badge."""
    text = pages["plain"].read_text(encoding="utf-8")
    failed = text.split(f'id="check-{FAILED.replace(".", "-")}"')[1].split("</article>")[0]
    known = text.split(f'id="check-{KNOWN.replace(".", "-")}"')[1].split("</article>")[0]
    assert '<span class="badge fail">FAIL</span>' in failed and "Known failure" not in failed
    assert '<span class="badge known">known failure</span>' in known and REASON in known
    assert text.count('<article class="check fail"') == 1


def test_without_knockout_columns_the_page_says_they_were_not_run(checks, pages):
    text = pages["plain"].read_text(encoding="utf-8")
    assert text.count(NOT_RUN) == len(checks)  # the cards
    assert NOT_RUN.capitalize() in text.split('<section id="summary">')[1].split("</section>")[0]
    assert text.count('<span class="ko-ns">not run</span>') == len(checks)  # the table
    assert "fails under its knockout: the check bites" not in text


def test_knockout_results_are_shown_when_present(checks, pages):
    text = pages["knockouts"].read_text(encoding="utf-8")
    tried = [c for c in checks if c.knockout is not None]
    assert NOT_RUN not in text
    assert text.count("fails under its knockout: the check bites") == len(tried) - 1
    assert text.count("bites: fails under it") == len(tried) - 1
    assert text.count("still passes under its knockout") == 1
    assert text.count("blunt: still passes") == 1
    assert f"{len(tried) - 1} of the {len(tried)} checks with a knockout fail under it" in text
    blunt = text.split(f'id="check-{BLUNT.replace(".", "-")}"')[1].split("</article>")[0]
    assert "sets policy.two_way.share=0" in blunt and "then " in blunt
    fit = next(c for c in checks if c.kind == "fit")
    card = text.split(f'id="check-{fit.id.replace(".", "-")}"')[1].split("</article>")[0]
    assert "none: a fit is no evidence" in card


def test_one_plot_per_city_embedded_and_nothing_fetched(checks, pages):
    text = pages["knockouts"].read_text(encoding="utf-8")
    cities = {c.id.split(".")[0] for c in checks}
    uris = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(uris) == len(cities)
    assert all(base64.b64decode(u)[:8] == b"\x89PNG\r\n\x1a\n" for u in uris)
    assert "<script" not in text and "<link" not in text
    assert not re.search(r'(src|href)="(https?:)?//', text)


def test_a_table_with_a_check_the_metrics_do_not_know_is_refused(checks):
    table = _synthetic(checks, False)
    table.loc[0, "check"] = "nowhere.figure"
    with pytest.raises(ReportError, match="nowhere.figure"):
        render_validation(table, checks)


def test_only_a_page_gridsim_wrote_is_replaced(checks, pages, tmp_path):
    table = _synthetic(checks[:2], False)
    own = pages["plain"]
    validation_report(table, checks, own)  # its own page: replaced
    assert own.read_text(encoding="utf-8").count("<article class=") == 2
    foreign = tmp_path / "notes.html"
    foreign.write_text("<html>my notes</html>", encoding="utf-8")
    with pytest.raises(OutputError, match="not written by gridsim"):
        validation_report(table, checks, foreign)
    assert foreign.read_text(encoding="utf-8") == "<html>my notes</html>"


# ------------------------------------------------------------------------ command and browser
def test_cli_writes_the_report_of_a_real_check_and_chromium_lays_it_out(run_cli, tmp_path):
    page = tmp_path / "validation.html"
    proc = run_cli("validate", "--check", "xian.split", "--fast", "--report", str(page))
    assert proc.returncode == 0, proc.stderr
    assert f"validation report written to {page}" in proc.stdout
    body = dom(page, tmp_path / "profile")
    for section in ("summary", "checks", "cities", "kinds", "city-xian", "check-xian-split"):
        assert f'id="{section}"' in body
    assert "街道党工委" in body and "003_5769a89299ef0c01.txt" in body
    assert body.count('src="data:image/png;base64,') == 1
    assert NOT_RUN in body and "--fast" in body


def test_cli_refuses_a_file_it_did_not_write_before_running(run_cli, tmp_path):
    foreign = tmp_path / "validation.html"
    foreign.write_text("<p>a planner's own page</p>", encoding="utf-8")
    proc = run_cli("validate", "--check", "xian.split", "--fast", "--report", str(foreign))
    assert proc.returncode == 2
    assert "not written by gridsim" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "published figures vs simulated" not in proc.stdout  # refused before any run
    assert foreign.read_text(encoding="utf-8") == "<p>a planner's own page</p>"


def test_the_full_page_renders_in_chromium_with_the_knockout_column(checks, pages, tmp_path):
    import matplotlib.image as mpimg

    body = dom(pages["knockouts"], tmp_path / "profile")
    head = body.split('<table class="checks">')[1].split("</thead>")[0]
    assert "Knockout" in head
    assert all(f'id="check-{c.id.replace(".", "-")}"' in body for c in checks)
    shot = tmp_path / "validation_report.png"
    done = browse(pages["knockouts"], tmp_path / "profile2", f"--screenshot={shot}",
                  "--window-size=1280,4000")
    assert shot.is_file(), done.stderr[-2000:]
    img = mpimg.imread(shot)[..., :3]
    assert img.shape[:2] == (4000, 1280) and img.std() > 0.05
    dark = img.min(axis=2) < 0.6
    assert dark.any(axis=1).mean() > 0.3  # content down the whole page
