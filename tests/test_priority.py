"""Priorities (issue 15, item 3) held against queueing theory, and their mechanics.

``scenarios/validation/priority.yaml`` is the M/M/c queue of ``mmc.yaml`` fed by an urgent
(priority 0) and a routine (priority 1) class. As in tests/test_analytic.py, each check runs
independent replications (seeds 1, 2, ...) and asks that the Student-t intervals of the
replication means (99 %, Bonferroni-simultaneous over the measures of one check) contain the
analytic values: the tolerance is the intervals' own half-width, never a chosen margin.

Per class and replication, over cases entering the community in [warm-up, horizon − TAIL):
``wq`` is the first ``started`` row at the community minus ``t_enter_community`` (the event log
records when work starts), ``p_wait`` the share that waited at all, ``w`` the sojourn
``t_leave_community − t_enter_community``; ``l`` is the pool's time-average busy + queue and
``little`` = L − λ̂·W, which is 0 run by run when the load meter is exact.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from analytic import priority_of
from test_analytic import TAIL, check

import gridsim
from gridsim.model.clock import Clock
from gridsim.model.pools import Meeting, Meter, Pool
from gridsim.model.priority import ClassQueue, PreemptivePool
from gridsim.plan.calendar import Calendars
from gridsim.scenario.schema import CalendarSpec

ROOT = Path(__file__).resolve().parents[1]
PRIORITY = ROOT / "scenarios" / "validation" / "priority.yaml"
REPS = 10
FCFS = {"categories.urgent.priority": 1}
"""Both classes at the same priority: the pools go back to first come first served."""
PREEMPT = {"preempt": ["community"]}
HEAVY_URGENT = {"categories.urgent.rates.hotline.value": 6,
                "categories.routine.rates.hotline.value": 3}
"""Urgent load high enough that its own Erlang C wait is clearly above zero."""


# ---------------------------------------------------------------- measuring one run
def run_classes(s: gridsim.Scenario, seed: int) -> dict[str, float]:
    """Per-class wait, P(wait), sojourn and arrival rate at the community; pooled L and Little."""
    r = gridsim.simulate(s.with_overrides({"record.level": "events"}), seed=seed)
    ev = r.events
    started = ev[(ev["event"] == "started") & (ev["tier"] == "community")]
    first = started.groupby(["district", "district_seq"], observed=True)["time"].min()
    i = r.issues.set_index(["district", "district_seq"])
    i["t_start"] = first
    start, end = s.warmup.hours, s.horizon.hours - TAIL
    cases = i[(i["t_enter_community"] >= start) & (i["t_enter_community"] < end)]
    assert cases["t_leave_community"].notna().all(), "a case measured had not left"
    assert (cases["escalations"] == 0).all()
    wait = cases["t_start"] - cases["t_enter_community"]
    sojourn = cases["t_leave_community"] - cases["t_enter_community"]
    out: dict[str, float] = {}
    for cat in ("urgent", "routine"):
        mine = (cases["category"] == cat).to_numpy()
        out[f"{cat}_wq"] = float(wait[mine].mean())
        out[f"{cat}_p_wait"] = float((wait[mine] > 0).mean())
        out[f"{cat}_w"] = float(sojourn[mine].mean())
        out[f"{cat}_lam"] = mine.sum() / (end - start)
    out["wq"] = float(wait.mean())
    out["w"] = float(sojourn.mean())
    dt = s.record.load_interval.hours
    load = r.load
    rows = load[(load["kind"] == "community") & (load["time"] - dt >= start - 1e-9)
                & (load["time"] <= end + 1e-9)]
    big_l = float(np.mean(rows["busy"].to_numpy() / dt + rows["queue"].to_numpy()))
    out["l"] = big_l
    out["little"] = big_l - len(cases) / (end - start) * out["w"]
    out["preempted"] = float((ev["event"] == "preempted").sum())
    return out


def replicate(s: gridsim.Scenario, n: int = REPS) -> pd.DataFrame:
    return pd.DataFrame([run_classes(s, seed) for seed in range(1, n + 1)])


@pytest.fixture(scope="module")
def scenario() -> gridsim.Scenario:
    return gridsim.load_scenario(PRIORITY)


@pytest.fixture(scope="module")
def non_preemptive(scenario):
    return replicate(scenario)


# ---------------------------------------------------------------- Cobham, and FCFS failing it
def cobham_expected(q) -> dict[str, float]:
    urgent, routine = q.cobham_wq()
    return {"urgent_wq": urgent, "routine_wq": routine, "wq": q.fcfs.wq,
            "urgent_w": urgent + 1 / q.mu, "routine_w": routine + 1 / q.mu}


def test_cobham_formula_by_hand():
    # λ = 3 + 6, μ = 1, c = 10: C(10, 9) = 0.668731524, W0 = C / 10, σ = 0.3, 0.9
    q = priority_of(gridsim.load_scenario(PRIORITY))
    w0 = 0.0668731524
    assert q.w0 == pytest.approx(w0, rel=1e-8)
    assert q.cobham_wq() == pytest.approx([w0 / 0.7, w0 / (0.7 * 0.1)], rel=1e-8)
    # work conservation in the formula itself: the λ-weighted mean is the FCFS wait
    lam = sum(q.lams)
    assert sum(k * w for k, w in zip(q.lams, q.cobham_wq(), strict=True)) / lam == \
        pytest.approx(q.fcfs.wq, rel=1e-12)


def test_non_preemptive_classes_match_cobham(scenario, non_preemptive):
    q = priority_of(scenario)
    assert (non_preemptive["preempted"] == 0).all()
    assert not check(non_preemptive, cobham_expected(q) | {"little": 0.0})


def test_work_conservation_total_wait_is_the_fcfs_mmc_wait(scenario, non_preemptive):
    q = priority_of(scenario).fcfs
    assert not check(non_preemptive, {"wq": q.wq, "w": q.w, "l": q.l})


def test_fcfs_fails_cobham_but_conserves_work(scenario):
    """The same check on the pools without priorities (both classes equal) must miss Cobham's
    per-class waits: it would pass only if priorities did nothing."""
    q = priority_of(scenario)
    reps = replicate(scenario.with_overrides(FCFS))
    misses = check(reps, cobham_expected(q))
    assert any(m.startswith("urgent_wq") for m in misses)
    assert any(m.startswith("routine_wq") for m in misses)
    fcfs = q.fcfs
    assert not check(reps, {"urgent_wq": fcfs.wq, "routine_wq": fcfs.wq, "wq": fcfs.wq})


# ---------------------------------------------------------------- pre-emptive resume
def preemptive_expected(q) -> dict[str, float]:
    top = q.preemptive_top()
    return {"urgent_wq": top.wq, "urgent_p_wait": top.p_wait, "urgent_w": top.w,
            "w": q.fcfs.w, "little": 0.0}


def test_preemptive_urgent_class_sees_erlang_c_at_its_own_rate(scenario):
    s = scenario.with_overrides(PREEMPT | HEAVY_URGENT)
    q = priority_of(s)
    reps = replicate(s)
    assert (reps["preempted"] > 0).all()
    # the urgent class waits as if alone; the number in system (so the mean sojourn over all
    # cases, Little) is FCFS M/M/c's: pre-emption moves waiting, it does not create work
    assert not check(reps, preemptive_expected(q))


def test_non_preemptive_urgent_class_does_not_see_erlang_c_alone(scenario):
    """The paired check: without pre-emption the urgent class also waits for routine cases
    in service (Cobham), so the pre-emptive expectation must fail."""
    s = scenario.with_overrides(HEAVY_URGENT)
    q = priority_of(s)
    reps = replicate(s)
    misses = check(reps, preemptive_expected(q))
    assert any(m.startswith("urgent_wq") for m in misses)
    assert not check(reps, cobham_expected(q))


# ---------------------------------------------------------------- long variants
@pytest.mark.slow
def test_long_run_non_preemptive_and_preemptive_classes():
    s = gridsim.load_scenario(PRIORITY, overrides={"horizon": "20000h"})
    q = priority_of(s)
    assert not check(replicate(s, 20), cobham_expected(q) | {"little": 0.0})
    p = s.with_overrides(PREEMPT | HEAVY_URGENT)
    assert not check(replicate(p, 20), preemptive_expected(priority_of(p)))


# ---------------------------------------------------------------- mechanics
class _Cat:
    def __init__(self, priority: int):
        self.priority = priority


class _Case:
    """What a pool reads of a case."""

    def __init__(self, name: str, priority: int):
        self.name, self.cat = name, _Cat(priority)
        self.priority = priority  # the case's own class (a supervision's boost may lower it)
        self.visit, self.tier, self.waiting = 0, 1, None
        self.t_solved = 0.0  # not NaN: a tier's stage
        self.t_on_site = float("nan")  # set when a community's staff start its work


def _always():
    return Calendars(CalendarSpec(), 24 * 30).shifts["always"]


def _pool(cls, capacity: int, calendar=None):
    clock = Clock()
    meter = Meter("p", "community", "u", None)
    pool = cls(clock, "p", capacity, calendar or _always(), meter)
    if cls is Pool:
        pool.queue = ClassQueue()
    return clock, pool, meter


def test_class_queue_serves_by_priority_then_arrival():
    q = ClassQueue()
    for name, p in [("a", 2), ("b", 0), ("c", 2), ("d", 0), ("e", 1)]:
        q.append((_Case(name, p), 0))
    assert [q.popleft()[0].name for _ in range(len(q))] == ["b", "d", "e", "a", "c"]
    assert not q


def test_non_preemptive_pool_finishes_the_case_in_service():
    clock, pool, meter = _pool(Pool, 1)
    done: list[tuple[str, float]] = []
    then = lambda case: done.append((case.name, clock.now))  # noqa: E731
    for t, name, p, work in [(0, "low", 1, 5.0), (1, "late_low", 1, 1.0), (2, "urgent", 0, 2.0)]:
        clock.at(t, lambda a: pool.serve(a[0], a[1], then), (_Case(name, p), work))
    clock.run(100)
    assert done == [("low", 5.0), ("urgent", 7.0), ("late_low", 8.0)]


def test_preemptive_resume_does_the_remaining_work_and_meters_exactly():
    clock, pool, meter = _pool(PreemptivePool, 1)
    done: list[tuple[str, float]] = []
    then = lambda case: done.append((case.name, clock.now))  # noqa: E731
    for t, name, p, work in [(0, "low", 1, 5.0), (1, "urgent", 0, 2.0), (2, "urgent2", 0, 1.0)]:
        clock.at(t, lambda a: pool.serve(a[0], a[1], then), (_Case(name, p), work))
    clock.run(100)
    # low works 0-1, urgent 1-3, urgent2 (equal class: no pre-emption) 3-4, low resumes 4-8
    assert done == [("urgent", 3.0), ("urgent2", 4.0), ("low", 8.0)]
    meter.update(clock.now, 0, 0)
    assert (meter.busy, meter.queue) == (0, 0)
    assert meter.area_busy == pytest.approx(8.0)  # 5 + 2 + 1 hours of work, no idle time
    assert meter.area_queue == pytest.approx(3.0 + 1.0)  # low waits 1-4, urgent2 waits 2-3


def test_instant_and_seizing_urgent_cases_wait_instead_of_interrupting():
    clock, pool, meter = _pool(PreemptivePool, 1)
    done: list[tuple[str, float]] = []
    then = lambda case: done.append((case.name, clock.now))  # noqa: E731
    clock.at(0, lambda c: pool.serve(c, 4.0, then), _Case("low", 1))
    clock.at(1, lambda c: pool.serve(c, 0.0, then), _Case("instant", 0))
    clock.at(2, lambda c: pool.seize(c, then), _Case("seize", 0))
    clock.run(100)
    # at 4 the instant case takes the staff member, and hands it on (to the seizing case)
    # before its own callback, as any finished job does
    assert done == [("low", 4.0), ("seize", 4.0), ("instant", 4.0)]
    assert (meter.busy, meter.queue) == (1, 0)  # the seized staff member is held
    pool.release()
    assert (meter.busy, meter.queue) == (0, 0)


def test_preempted_work_resumes_in_on_shift_hours():
    cal = Calendars(CalendarSpec(), 24 * 30).shifts["office"]  # Mon 2026-01-05 08:30-12:00 ...
    clock, pool, _ = _pool(PreemptivePool, 1, cal)
    done: list[tuple[str, float]] = []
    then = lambda case: done.append((case.name, clock.now))  # noqa: E731
    clock.at(8.5, lambda c: pool.serve(c, 3.0, then), _Case("low", 1))  # would end 11:30
    clock.at(9.5, lambda c: pool.serve(c, 2.0, then), _Case("urgent", 0))  # 09:30-11:30
    clock.run(200)
    # low did 1 h, then its 2 h left: 11:30-12:00 and 13:30-15:00
    assert done == [("urgent", 11.5), ("low", 15.0)]


def test_withdrawn_cases_are_skipped_and_uncounted_in_a_class_queue():
    clock, pool, meter = _pool(Pool, 1)
    done: list[str] = []
    cases = [_Case("busy", 1), _Case("gone", 0), _Case("next", 1)]
    for c in cases:
        pool.serve(c, 1.0, lambda case: done.append(case.name))
    assert meter.queue == 2
    gone = cases[1]
    pool.withdraw(gone)  # the lifecycle's deadline: withdraw, then the case moves on
    gone.visit += 1
    clock.run(10)
    assert done == ["busy", "next"] and meter.queue == 0 and meter.busy == 0


def test_meeting_agenda_takes_the_most_urgent_first():
    clock = Clock()
    decided: list[str] = []
    meeting = Meeting(clock, "joint", 10.0, 5.0, 2, Meter("j", "joint", "u", None), _always(),
                      lambda case: decided.append(case.name))
    meeting.queue = ClassQueue()
    for name, p in [("a", 1), ("b", 1), ("c", 0), ("d", 1)]:
        meeting.submit(_Case(name, p))
    clock.run(6)
    assert decided == ["c", "a"]
    clock.run(16)
    assert decided == ["c", "a", "b", "d"]


# ---------------------------------------------------------------- in the whole model
def test_one_class_keeps_plain_fifo_pools_and_identical_results():
    s = gridsim.load_scenario(PRIORITY, overrides={"horizon": "300h", "warmup": "0h"})
    same = s.with_overrides({"categories.urgent.priority": 7, "categories.routine.priority": 7,
                             "preempt": ["community"]})
    a = gridsim.simulate(s.with_overrides(FCFS), seed=3).issues
    b = gridsim.simulate(same, seed=3).issues
    pd.testing.assert_frame_equal(a, b)


def overtaken(r, priority: dict[str, int]) -> int:
    """Starts from a queue while a more urgent case was waiting at the same unit, read from the
    event log: a case waits at a unit from its ``queued`` (or ``preempted``) row to its next
    row (``started`` there, or withdrawn at a deadline). Ties in time are not counted."""
    ev = r.events.copy()
    cat = r.issues.set_index(["district", "district_seq"])["category"].astype(str)
    key = pd.MultiIndex.from_arrays([ev["district"], ev["district_seq"]])
    ev["prio"] = cat.reindex(key).map(priority).to_numpy()
    ev = ev.sort_values(["district", "district_seq", "step"])
    by_case = ev.groupby(["district", "district_seq"], observed=True)
    ev["until"] = by_case["time"].shift(-1).fillna(np.inf)
    ev["prev"] = by_case["event"].shift(1).astype(str)
    ev["prev_unit"] = by_case["unit"].shift(1).astype(str)
    ev["unit"] = ev["unit"].astype(str)
    waiting = ev[ev["event"].isin(["queued", "preempted"])]
    starts = ev[(ev["event"] == "started") & ev["prev"].isin(["queued", "preempted"])
                & (ev["prev_unit"] == ev["unit"])]
    assert len(starts) > 100
    bad = 0
    for unit, st in starts.groupby("unit"):
        w = waiting[waiting["unit"] == unit]
        for p in st["prio"].unique():
            urgent = w[w["prio"] < p]
            t = st.loc[st["prio"] == p, "time"].to_numpy()
            since, until = np.sort(urgent["time"].to_numpy()), np.sort(urgent["until"].to_numpy())
            bad += int((np.searchsorted(since, t, "left")
                        - np.searchsorted(until, t, "right")).clip(0).sum())
    return bad


ALL_SERVING = ["grid_worker", "community", "centre", "enforcement", "office"]
CONGESTED = {"horizon": "60d", "warmup": "0d", "record.level": "events",
             "streets.staff.enforcement": 7, "policy.four_tier.tier_deadlines.community": "4wh",
             "policy.four_tier.tier_deadlines.street": "4wh"}
"""The default district, short, with busier street teams and tight tier deadlines: cases are
withdrawn from queues at deadlines while urgent ones overtake them, and departments are called
one after another and jointly."""


@pytest.fixture(scope="module")
def congested() -> gridsim.Scenario:
    return gridsim.load_scenario(gridsim.bundled_scenario()).with_overrides(CONGESTED)


@pytest.mark.parametrize("preempt", [[], ALL_SERVING], ids=["non-preemptive", "preemptive"])
def test_default_urgent_class_is_never_overtaken_and_deadlines_still_withdraw(congested,
                                                                              preempt):
    s = congested.with_overrides({"preempt": preempt})
    prio = {name: cat.priority for name, cat in s.categories.items()}
    assert prio["burst_main"] == 0 and set(prio.values()) == {0, 1}
    r = gridsim.simulate(s, seed=2)
    counts = r.events["event"].value_counts()
    assert counts["deadline"] > 0 and counts["dept_onsite"] > 0 and counts["queued"] > 1000
    assert (counts["preempted"] > 0) == bool(preempt)
    assert overtaken(r, prio) == 0
    load = r.load
    assert (load["queue"] >= -1e-9).all()
    assert (load["busy"] <= load["capacity_hours"] + 1e-9).all()  # never more staff than exist
    assert r.issues["category"].eq("burst_main").sum() > 0
    assert len(r.issues) == counts["created"]  # no case lost or duplicated


def test_the_overtaking_check_catches_fcfs(congested):
    """Paired: the same check on pools without priorities finds urgent cases overtaken."""
    prio = {name: cat.priority for name, cat in congested.categories.items()}
    r = gridsim.simulate(congested.with_overrides({"categories.burst_main.priority": 1}), seed=2)
    assert overtaken(r, prio) > 0


@pytest.mark.parametrize(("override", "says"), [
    ({"preempt": ["department"]}, "preempt: 'department' cannot pre-empt"),
    ({"preempt": ["comunity"]}, "did you mean 'community'"),
    ({"categories.urgent.priority": -1}, "categories.urgent.priority"),
    ({"categories.urgent.priority": 1001}, "categories.urgent.priority"),
])
def test_bad_priority_settings_are_refused_with_their_path(override, says):
    with pytest.raises(gridsim.ScenarioError) as err:
        gridsim.load_scenario(PRIORITY, overrides=override)
    assert says in str(err.value)
