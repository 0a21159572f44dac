"""Bounded-memory recording: KPIs are the same whether the case rows are kept in memory,
streamed to Parquet, never kept (level ``kpis``), chunked finely or sharded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gridsim
from gridsim.model.hotline import COUNTERS
from gridsim.results.kpis import KpiAccumulator, compute_kpis
from gridsim.results.stream import read_issues

KEY = ["district", "district_seq"]


@pytest.fixture(scope="module")
def streamed(short_scenario) -> gridsim.Result:
    return gridsim.simulate(short_scenario.with_overrides({"record.stream": True}), seed=7)


@pytest.fixture(scope="module")
def kpis_only(short_scenario) -> gridsim.Result:
    return gridsim.simulate(short_scenario.with_overrides({"record.level": "kpis"}), seed=7)


def _by_case(df: pd.DataFrame) -> pd.DataFrame:
    """Rows in one order, identified by (district, district_seq); categoricals as strings."""
    df = df.drop(columns="issue_id")
    for col in df.columns:
        if isinstance(df[col].dtype, pd.CategoricalDtype):
            df[col] = df[col].astype(str)
    return df.sort_values(KEY, ignore_index=True)


def test_streamed_and_in_memory_runs_give_identical_kpis_and_rows(short_result, streamed):
    assert streamed.record == {"level": "issues", "stream": True}
    pd.testing.assert_frame_equal(streamed.kpis, short_result.kpis)
    # the raw streamed file: same columns, rows in closing order, issue_id left empty
    (path,) = streamed.issue_files.paths
    raw = pd.read_parquet(path)
    assert list(raw.columns) == list(short_result.issues.columns)
    assert raw["issue_id"].isna().all()
    pd.testing.assert_frame_equal(_by_case(raw), _by_case(short_result.issues))
    assert raw["district_seq"].is_unique  # one district: the number within it is an id
    # read lazily, numbered and ordered like the in-memory table
    assert streamed._issues is None
    pd.testing.assert_frame_equal(streamed.issues, short_result.issues)


def test_streamed_kpis_are_read_back_a_row_group_at_a_time(short_scenario, tmp_path):
    import pyarrow.parquet as pq

    s = short_scenario.with_overrides({"record.stream": True, "record.chunk": 1000})
    r = gridsim.simulate(s, seed=7, spool_dir=tmp_path)
    (path,) = r.issue_files.paths
    assert path.parent.parent == tmp_path / ".gridsim-tmp"  # a scratch folder (results/io.py)
    meta = pq.ParquetFile(path).metadata
    assert meta.num_row_groups == -(-meta.num_rows // 1000) > 1
    assert r.summary()["issues_created"] == meta.num_rows == r.manifest["issues_created"]
    # the temporary folder belongs to the result: gone with it
    spool = path.parent
    del r
    import gc

    gc.collect()
    assert not spool.exists() and list(tmp_path.iterdir()) == []


def test_kpis_level_gives_the_same_kpis_and_no_issue_table(short_result, kpis_only, tmp_path):
    pd.testing.assert_frame_equal(kpis_only.kpis, short_result.kpis)
    assert kpis_only.issues is None
    assert kpis_only.summary()["issues_created"] == len(short_result.issues)
    assert kpis_only.summary()["states"] == short_result.summary()["states"]
    pd.testing.assert_frame_equal(kpis_only.resolution_times(),
                                  short_result.resolution_times())
    out = kpis_only.write(tmp_path / "run")
    assert not (out / "issues.parquet").exists()
    assert (out / "kpis.csv").exists() and (out / "plots" / "resolution_time.png").exists()
    assert json.loads((out / "summary.json").read_text())["record"]["level"] == "kpis"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["record"]["level"] == "kpis" and manifest["record"]["issues_file"] is None


def test_kpis_do_not_depend_on_the_chunk_size(short_scenario, short_result):
    for level in ("kpis", "issues"):
        r = gridsim.simulate(short_scenario.with_overrides(
            {"record.chunk": 97, "record.level": level}), seed=7)
        pd.testing.assert_frame_equal(r.kpis, short_result.kpis)


def test_accumulator_merges_pieces_in_any_order(short_result, short_scenario):
    """Split the rows into uneven chunks, shuffle them, count them in two accumulators and
    merge: the KPIs are bit-identical to the one-chunk run's."""
    from gridsim.results.kpis import chunk_from_frame, names_of

    df = short_result.issues
    names = names_of(df)
    rng = np.random.default_rng(3)
    rows = df.iloc[rng.permutation(len(df))]
    cuts = np.sort(rng.choice(len(df), 6, replace=False))
    pieces = np.split(np.arange(len(df)), cuts)
    s = short_scenario
    args = (s.warmup.hours, s.horizon.hours, s.policy.report_deadline.hours, names)
    a, b = KpiAccumulator(*args), KpiAccumulator(*args)
    for i, idx in enumerate(pieces):
        (a if i % 2 else b).add(chunk_from_frame(rows.iloc[idx], names))
    merged = a.merge(b)
    # the 12345 front end's KPIs come from its own counters (consultations are no rows)
    from gridsim.results.hotline import call_kpis

    front = {m for m, _, _ in call_kpis(dict.fromkeys(COUNTERS, 0.0))}
    # and so do the departments' (calls and joint visits are no rows either)
    k = short_result.kpis
    depts = k["scope"].str.startswith("department=") | k["metric"].isin(
        ["dept_calls", "report_rate", "cooperation_rate"])
    rows_kpis = k[~k["metric"].isin(front) & ~depts]
    pd.testing.assert_frame_equal(merged.kpis(), rows_kpis.reset_index(drop=True))
    pd.testing.assert_frame_equal(
        compute_kpis(df, s.warmup.hours, s.horizon.hours, s.policy.report_deadline.hours),
        rows_kpis.reset_index(drop=True))


def test_sharded_kpis_level_and_stream_equal_the_unsharded_run(three, tmp_path):
    whole = gridsim.simulate(three, seed=4)
    kpis = gridsim.simulate(three.with_overrides({"record.level": "kpis"}), seed=4, shards=3,
                            workers=2)
    assert kpis.issues is None
    pd.testing.assert_frame_equal(kpis.kpis, whole.kpis)
    pd.testing.assert_frame_equal(kpis.load, whole.load)
    assert kpis.summary()["states"] == whole.summary()["states"]

    streamed = gridsim.simulate(three.with_overrides({"record.stream": True}), seed=4,
                                shards=2, workers=2)
    pd.testing.assert_frame_equal(streamed.kpis, whole.kpis)
    assert [p.name for p in streamed.issue_files.paths] == ["part-000.parquet",
                                                            "part-001.parquet"]
    out = streamed.write(tmp_path / "run", plot=False)
    folder = out / "issues.parquet"
    assert sorted(p.name for p in folder.iterdir()) == ["part-000.parquet", "part-001.parquet"]
    assert streamed.issue_files.paths[0].parent == folder  # moved, and read from there
    pd.testing.assert_frame_equal(_by_case(pd.read_parquet(folder)), _by_case(whole.issues))
    pd.testing.assert_frame_equal(read_issues(streamed.issue_files), whole.issues)


def test_cli_record_levels(run_cli, tmp_path):
    base = ["run", "--set", "horizon=20d", "--set", "warmup=2d", "-q", "--no-plots"]
    proc = run_cli(*base, "--record", "kpis", "--out", str(tmp_path / "k"))
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "k"
    assert (out / "kpis.csv").exists() and not (out / "issues.parquet").exists()
    kpis = pd.read_csv(out / "kpis.csv")

    proc = run_cli(*base, "--stream", "--out", str(tmp_path / "s"))
    assert proc.returncode == 0, proc.stderr
    issues = pd.read_parquet(tmp_path / "s" / "issues.parquet")
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert len(issues) == manifest["issues_created"] > 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "s" / "kpis.csv"), kpis)
    # nothing left behind in the folder the rows were spooled to
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k", "s"]

    proc = run_cli("report", str(out))
    assert proc.returncode == 0, proc.stderr

    for bad in (["--record", "kpi"], ["--set", "record.level=isues"]):
        proc = run_cli(*base, *bad, "--out", str(tmp_path / "bad"))
        assert proc.returncode == 2
        assert "record.level" in proc.stderr and "did you mean" in proc.stderr
    proc = run_cli(*base, "--record", "kpis", "--stream", "--out", str(tmp_path / "bad"))
    assert proc.returncode == 2 and "stream" in proc.stderr
    assert not Path(tmp_path / "bad").exists()


def test_replicate_with_level_kpis(short_scenario):
    s = short_scenario.with_overrides({"horizon": "30d", "warmup": "5d"})
    a = gridsim.replicate(s, 2, seed=3, workers=1)
    b = gridsim.replicate(s.with_overrides({"record.level": "kpis"}), 2, seed=3, workers=1)
    assert not b.failures
    pd.testing.assert_frame_equal(a.summary, b.summary)
    pd.testing.assert_frame_equal(a.units(), b.units())
    pd.testing.assert_frame_equal(a.histogram(), b.histogram())
    assert (b.units("street")["overdue_end"] >= 0).all()


def test_kpi_rows_carry_the_same_values_as_full_rows():
    """Level ``kpis`` records only the columns the KPI accumulator reads: each of them must hold
    what the full row holds (the narrow row is written by its own code)."""
    from types import SimpleNamespace

    from gridsim.model.records import ISSUE_COLUMNS, KPI_COLUMNS, KpiRecorder, Recorder
    from gridsim.model.states import CaseStates

    values = iter(range(1, 1000))
    issue = SimpleNamespace(
        seq=next(values), cat=SimpleNamespace(index=next(values)), source=next(values),
        grid=SimpleNamespace(id=next(values)), start_tier=next(values),
        t_created=next(values), t_discovered=next(values), t_uploaded=next(values),
        enter=[next(values) for _ in range(6)], leave=[next(values) for _ in range(6)],
        t_called=next(values), t_onsite=next(values), n_depts=next(values),
        t_solved=next(values), solved_tier=next(values), escalations=next(values),
        bounces=next(values), reopens=next(values), whistles=next(values),
        two_way=next(values), deadline=next(values), duplicates=next(values),
        returns=next(values), dispatched_to=next(values), back_to_centre=next(values),
        t_filed=next(values), t_received=next(values), t_on_site=next(values),
        t_verified=next(values), st=CaseStates(next(values)),
        solved_in_fact=next(values), t_contacted=next(values), response=next(values),
        callbacks=next(values), satisfied=next(values), callback_reopens=next(values))
    st = issue.st  # the case states' counters (gridsim.model.states)
    st.extensions, st.suspensions, st.supervisions, st.rejected, st.suspended_h = (
        next(values) for _ in "abcde")
    full, narrow = Recorder(), KpiRecorder()
    for rec in (full, narrow):
        rec.write(issue, 500.0, 0)
        rec.write(issue, 600.0, 2)
    wide, kpi = full.columns(), narrow.columns()
    assert set(kpi) == {name for name, _ in KPI_COLUMNS} < {name for name, _ in ISSUE_COLUMNS}
    for name in kpi:
        np.testing.assert_array_equal(kpi[name], wide[name], err_msg=name)
    assert len(np.unique(np.concatenate([wide[n][:1] for n in wide if n != "t_closed"]))) == 52
