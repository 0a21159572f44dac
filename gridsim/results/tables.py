"""From a run's raw arrays to the DataFrames users read: ``issues``, ``load`` and ``backlog``.

All times are hours from the scenario start (t = 0 at midnight of ``calendar.start``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..model.records import ISSUE_COLUMNS, RunNames, known_bool
from ..model.simulation import RawRun
from ..model.stages import stage_flags
from ..model.trace import EVENTS
from ..vocabulary import LEADS, RECEIVERS, REJECTION_REASONS, SOURCES, STATES, TIERS
from .kpis import on_time_of
from .resident import resident_columns


def _cat(codes: np.ndarray, names: list[str] | tuple[str, ...]) -> pd.Categorical:
    return pd.Categorical.from_codes(codes.astype(np.int32), categories=list(names))


ISSUE_ORDER = ("t_created", "district", "district_seq")
"""How in-memory issue tables are ordered and numbered (``issue_id``): creation time, then
district in scenario order, then number within the district."""


def issues_frame(raw: RawRun, report_deadline: float, horizon: float) -> pd.DataFrame:
    """One row per case created, whatever its state at the end, in ``issue_id`` order."""
    names = RunNames(raw.categories, raw.leads, raw.grids)
    return issue_rows(raw.issues, names, report_deadline, horizon).sort_values(
        "issue_id", ignore_index=True)


UnitCodes = dict[str, tuple[np.ndarray, list[str]]]


def unit_codes(names: RunNames) -> UnitCodes:
    """Per level (``district``, ``street``, ``community``): each grid's code in the sorted
    list of that level's units, and the list (see :func:`issue_rows`)."""
    out: UnitCodes = {}
    for i, level in ((3, "district"), (2, "street"), (1, "community")):
        values = np.asarray([g[i] for g in names.grids], dtype=object)
        cats = sorted(set(values))
        out[level] = (pd.Categorical(values, categories=cats).codes, cats)
    return out


def issue_rows(c: dict[str, np.ndarray], names: RunNames, report_deadline: float,
               horizon: float, units: UnitCodes | None = None) -> pd.DataFrame:
    """The user-facing rows of a record chunk, in the chunk's order.

    A chunk not yet numbered (streamed: :func:`gridsim.model.simulation.number_issues` needs
    every row) gets an empty ``issue_id`` (nullable ``Int64``). With ``units`` (from
    :func:`unit_codes`) the ``district``, ``street`` and ``community`` categoricals list every
    unit of the run rather than those present, so every chunk of a stream has the same
    dictionaries.
    """
    grid_names = [g[0] for g in names.grids]
    g = c["grid"]

    def unit(level: str) -> pd.Categorical:
        return _unit(g, level, names, units)

    cols: dict[str, object] = {
        "issue_id": _issue_ids(c),
        "district_seq": c["district_seq"],
        "category": _cat(c["category"], names.categories),
        "lead": pd.Categorical.from_codes(
            np.asarray([LEADS.index(lead) for lead in names.leads], dtype=np.int32)[
                c["category"]] if names.leads else np.zeros(0, dtype=np.int32),
            categories=list(LEADS)),
        "source": _cat(c["source"], SOURCES),
        "district": unit("district"),
        "street": unit("street"),
        "community": unit("community"),
        "grid": _cat(g, grid_names),
        "start_tier": _cat(c["start_tier"], TIERS),
    }
    for name, _ in ISSUE_COLUMNS:
        if name.startswith("t_") or name in ("departments_reported", "escalations", "bounces",
                                             "reopens", "whistles", "deadline", "duplicates",
                                             "back_to_centre"):
            cols[name] = c[name]
    solved = c["solved_tier"].astype(np.int32)
    cols["solved_tier"] = pd.Categorical.from_codes(solved, categories=list(TIERS))
    cols["two_way"] = c["two_way"].astype(bool)
    cols["state"] = _cat(c["state"], STATES)
    cols["returns"] = c["returns"]
    cols["dispatched_to"] = _cat(c["dispatched_to"], RECEIVERS)
    for name in ("extensions", "deadline_extended", "suspensions", "suspended_hours",
                 "supervisions"):  # case states (gridsim.model.states)
        cols[name] = c[name]
    cols["rejected"] = _cat(c["rejected"], REJECTION_REASONS)
    resident_columns(cols, c)
    closed = c["state"] == STATES.index("closed")
    ended = np.where(closed, c["t_closed"], np.nan)  # an abandoned case's t_closed: it gave up
    cols["resolution_time"] = ended - c["t_discovered"]
    cols["lead_time"] = ended - c["t_created"]
    due, on_time = on_time_of(c["deadline"], c["t_closed"], closed, horizon,
                              c["suspensions"] > 0)
    cols["on_time"] = known_bool(on_time, due)
    report_time = c["t_dept_onsite"] - c["t_dept_called"]
    cols["report_time"] = report_time
    with np.errstate(invalid="ignore"):
        cols["report_on_time"] = known_bool(report_time <= report_deadline + 1e-9,
                                            ~np.isnan(report_time))
    cols.update(stage_flags(c["stage_status"]))  # <stage>_on_time
    return pd.DataFrame(cols, copy=False)


def events_frame(raw: RawRun) -> pd.DataFrame:
    """The event log (record level ``events``): one row per state change of a case, ordered
    by time, district (scenario order), ``district_seq`` and ``step``."""
    names = RunNames(raw.categories, raw.leads, raw.grids, raw.units or [])
    return event_rows(raw.trace, names)


def _issue_ids(c: dict[str, np.ndarray]) -> np.ndarray | pd.arrays.IntegerArray:
    """The chunk's ``issue_id`` column, or empty (``<NA>``) when it is not numbered yet."""
    if "issue_id" in c:
        return c["issue_id"]
    return pd.array(np.full(len(c["grid"]), pd.NA, dtype=object), dtype="Int64")


_LEVEL_INDEX = {"district": 3, "street": 2, "community": 1}
"""Where each level's name is in a ``RunNames.grids`` tuple."""


def _unit(g: np.ndarray, level: str, names: RunNames,
          units: UnitCodes | None) -> pd.Categorical:
    """The ``level`` unit of each row's grid ``g``: every unit of the run as categories with
    ``units``, else those present."""
    if units is not None:
        codes, cats = units[level]
        return pd.Categorical.from_codes(codes[g], categories=cats)
    values = [t[_LEVEL_INDEX[level]] for t in names.grids]
    present = sorted({values[k] for k in np.unique(g).tolist()})
    index = {name: k for k, name in enumerate(present)}
    codes = np.asarray([index.get(v, -1) for v in values], dtype=np.int32)
    return pd.Categorical.from_codes(codes[g], categories=present)


def event_rows(c: dict[str, np.ndarray], names: RunNames,
               units: UnitCodes | None = None) -> pd.DataFrame:
    """The user-facing rows of an event chunk (see :mod:`gridsim.model.trace`), in its order.

    As for :func:`issue_rows`: ``issue_id`` is empty (``<NA>``) in a chunk not yet numbered,
    and with ``units`` the ``district`` categorical lists every district of the run.
    """
    return pd.DataFrame({
        "issue_id": _issue_ids(c),
        "district": _unit(c["grid"], "district", names, units),
        "district_seq": c["district_seq"],
        "step": c["step"],
        "time": c["time"],
        "event": _cat(c["event"], EVENTS),
        "tier": _cat(c["tier"], TIERS),
        "unit": _cat(c["unit"], names.units),
    })


def load_frame(raw: RawRun, interval: float) -> pd.DataFrame:
    """Utilisation and queue length of every staff pool per sampling interval.

    ``time`` is the start of the interval; ``queue`` its time-average number of waiting cases.
    ``busy`` counts staff-hours worked while on shift (work paused off shift is not counted);
    ``utilisation`` is busy over ``capacity_hours`` = capacity × on-shift hours (NaN when the pool
    is off shift), so a period's utilisation is ``busy.sum() / capacity_hours.sum()``.
    Meeting tiers (joint, city) have capacity 1 and ``utilisation`` is how full the agenda of
    their latest meeting was. ``patrol``: for grid worker pools, the staff-hours on shift not
    spent on cases (``capacity_hours - busy``: patrol, see :mod:`gridsim.model.workday`); 0 for
    every other pool. ``jobs``: the jobs the pool took on in the interval (requests that take a
    staff member: :class:`~gridsim.model.pools.Meter`), ``waited``: those of them that had to
    queue (integers; 0 for meetings, which count none), so a period's probability of waiting is
    ``waited.sum() / jobs.sum()`` and its mean wait in queue ``(queue × interval).sum() /
    jobs.sum()`` hours (Little's law).
    """
    meters = pd.DataFrame(raw.meters, columns=["pool", "kind", "unit", "capacity"])
    L = raw.load
    m = L["meter"]
    meeting = meters["kind"].isin(["joint", "city"]).to_numpy()[m]
    on = L["on_shift"]
    busy = np.where(meeting, L["busy"], L["busy"] * on / interval)
    cap = meters["capacity"].to_numpy()[m]
    with np.errstate(divide="ignore", invalid="ignore"):
        util = np.where((on > 0) & (cap > 0), busy / (cap * np.where(meeting, interval, on)),
                        np.nan)
    return pd.DataFrame({
        "time": L["time"],
        "pool": pd.Categorical.from_codes(m.astype(np.int32), categories=list(meters["pool"])),
        "kind": _categorical(meters["kind"], m),
        "unit": _categorical(meters["unit"], m),
        "capacity": cap,
        "on_shift": on,
        "capacity_hours": cap * np.where(meeting, interval, on),
        "busy": busy,
        "utilisation": util,
        "queue": L["queue"] / interval,
        "patrol": np.where(meters["kind"].to_numpy()[m] == "grid_worker",
                           np.maximum(cap * on - busy, 0.0), 0.0),
        "jobs": L["jobs"],
        "waited": L["waited"],
    })


def _categorical(per_meter: pd.Series, meter: np.ndarray) -> pd.Categorical:
    """``per_meter[meter]`` as a categorical, without a string per row."""
    codes, names = pd.factorize(per_meter, sort=True)
    return pd.Categorical.from_codes(codes[meter], categories=names)


def backlog_frame(raw: RawRun) -> pd.DataFrame:
    """Open cases (created, not yet closed) at each sampling time."""
    return pd.DataFrame({"time": raw.backlog["time"], "open": raw.backlog["open"]})


def workers_frame(raw: RawRun) -> pd.DataFrame | None:
    """One row per grid: its grid workers' day over the measured period (warm-up to horizon;
    see :mod:`gridsim.model.workday`), from counters kept during the run (None without)."""
    w = raw.workers
    if w is None:
        return None
    grids = pd.DataFrame(raw.grids, columns=["grid", "community", "street", "district"])
    on, case = w["on_shift_hours"], w["case_hours"]
    patrol = np.maximum(on - case, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(on > 0, patrol / on, np.nan)
    out = grids.assign(workers=w["workers"], on_shift_hours=on, case_hours=case,
                       patrol_hours=patrol, patrol_share=share, found=w["found"],
                       fixed_on_spot=w["fixed"], verified=w["verified"])
    return out
