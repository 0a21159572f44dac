"""Replications of one scenario share its validated scenario and compiled plan (issue 19): the
worker's cache is used, bounded, and changes no result."""

from __future__ import annotations

import pickle

import pandas.testing as pdt
import pytest

import gridsim
from gridsim import runner
from gridsim.experiments import tasks
from gridsim.experiments.outputs import replication_outputs
from gridsim.experiments.tasks import PLAN_CACHE_SIZE, Task, run_task
from gridsim.plan import compile_plan
from gridsim.scenario.loader import validate_data


@pytest.fixture
def cleared():
    """An empty plan cache before and after the test (it lives as long as the process)."""
    tasks._prepared.cache_clear()
    yield
    tasks._prepared.cache_clear()


@pytest.fixture
def compiles(monkeypatch) -> list[str]:
    """The names of the scenarios the worker compiles a plan for, in order."""
    names: list[str] = []

    def counting(scenario):
        names.append(scenario.name)
        return compile_plan(scenario)

    monkeypatch.setattr(tasks, "compile_plan", counting)
    return names


@pytest.fixture(scope="module")
def small(default_scenario) -> gridsim.Scenario:
    """One street for two weeks: a replication in a fraction of a second."""
    return default_scenario.with_overrides({"horizon": "14d", "warmup": "2d",
                                            "streets.count": 1})


def fresh(task: Task) -> dict:
    """The tables of ``task`` as run_task made them before plans were shared: the scenario
    validated and its plan compiled for this one run."""
    data = {**task.scenario, "record": {**task.scenario.get("record", {}),
                                        "level": "kpis", "stream": False}}
    return replication_outputs(runner.simulate(validate_data(data), seed=task.seed,
                                               allow_large=True))


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        pdt.assert_frame_equal(a[name], b[name], obj=name)


def test_replications_of_a_scenario_compile_once(small, cleared, compiles):
    data = small.to_data()
    for r in range(3):
        out = run_task(Task(0, r, 10 + r, data))
        assert out.error is None, out.error
    assert len(compiles) == 1
    other = small.with_overrides({"name": "other"}).to_data()
    assert run_task(Task(1, 0, 10, other)).error is None
    assert run_task(Task(0, 3, 13, dict(data))).error is None  # equal data, another dict
    assert compiles == [small.name, "other"]
    assert tasks._prepared.cache_info().hits == 3


def test_cache_is_bounded(cleared, compiles):
    mmc = gridsim.load_scenario("scenarios/validation/mmc.yaml")
    datas = [mmc.with_overrides({"name": f"mmc-{k}"}).to_data()
             for k in range(PLAN_CACHE_SIZE + 3)]
    for data in datas:
        tasks.prepared(data)
    assert tasks._prepared.cache_info().currsize == PLAN_CACHE_SIZE
    tasks.prepared(datas[-1])  # kept
    assert len(compiles) == PLAN_CACHE_SIZE + 3
    tasks.prepared(datas[0])  # the least recently used: dropped, compiled again
    assert len(compiles) == PLAN_CACHE_SIZE + 4


def test_a_failing_scenario_is_reported_not_kept(small, cleared):
    bad = {**small.to_data(), "horizon": "soon"}
    for r in range(2):
        out = run_task(Task(4, r, r, bad))
        assert out.tables is None and "<point 4>" in out.error
    assert tasks._prepared.cache_info().currsize == 0


@pytest.mark.parametrize("policy", ["whistle", "two_way"])
def test_shared_plan_gives_the_results_of_a_fresh_one(small, cleared, policy):
    """Runs of a shared plan, interleaved with another scenario's, match runs that compile
    their own (two_way: its policy is attached to the draw columns at every run)."""
    data = small.with_overrides({"policy.name": policy}).to_data()
    other = small.with_overrides({"policy.name": "baseline"}).to_data()
    order = [Task(0, 0, 5, data), Task(1, 0, 5, other), Task(0, 1, 6, data), Task(0, 0, 5, data)]
    outs = [run_task(t) for t in order]
    assert all(o.error is None for o in outs), [o.error for o in outs]
    assert tasks._prepared.cache_info().misses == 2
    for task, out in zip(order, outs, strict=True):
        assert_same(out.tables, fresh(task))
    assert_same(outs[0].tables, outs[3].tables)


def test_task_stays_picklable(small):
    task = Task(0, 1, 2, small.to_data())
    assert pickle.loads(pickle.dumps(task)) == task


def test_simulate_refuses_another_scenarios_plan(small):
    plan = compile_plan(small.with_overrides({"name": "other"}))
    with pytest.raises(ValueError, match="another scenario"):
        gridsim.simulate(small, seed=1, plan=plan)
