"""Issue tables back into record chunks: the columns the KPI accumulator reads, from
``result.issues``, a read ``issues.parquet`` or one of its Parquet batches (categoricals or
strings), and the names the codes stand for."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..model.records import Chunk, RunNames
from ..model.stages import STAGE_FLAGS, stage_status
from ..vocabulary import RECEIVERS, REJECTION_REASONS, SOURCES, STATES, TIERS
from .resident import resident_codes

KPI_COLUMNS = ("category", "source", "grid", "state", "t_created", "t_discovered", "t_closed",
               "deadline", "solved_tier", *(f"t_enter_{t}" for t in TIERS[1:]), "whistles",
               "escalations", "bounces", "reopens", "two_way", "t_dept_called", "t_dept_onsite",
               "duplicates", "dispatched_to", "extensions", "deadline_extended", "suspensions",
               "supervisions", "rejected", "solved_in_fact", "response", "callbacks", "satisfied",
               "t_uploaded", "t_filed", "t_received", "t_on_site", "t_solved", "t_verified",
               *STAGE_FLAGS)
"""The record columns the accumulator reads."""


def _codes(values: pd.Series, categories: Sequence[str]) -> np.ndarray:
    """Codes of ``values`` (categorical or strings) in ``categories`` (-1 for missing)."""
    if isinstance(values.dtype, pd.CategoricalDtype) and \
            list(values.cat.categories) == list(categories):
        return values.cat.codes.to_numpy()
    return pd.Categorical(values.astype(object), categories=list(categories)).codes


def chunk_from_frame(df: pd.DataFrame, names: RunNames) -> Chunk:
    """The record columns the accumulator needs, from a table of issue rows (``issues``, a
    Parquet batch of it: categoricals or strings)."""
    c: Chunk = {
        "category": _codes(df["category"], names.categories).astype(np.int32),
        "source": _codes(df["source"], SOURCES).astype(np.int8),
        "grid": _codes(df["grid"], [g[0] for g in names.grids]).astype(np.int32),
        "state": _codes(df["state"], STATES).astype(np.int8),
        "solved_tier": _codes(df["solved_tier"], TIERS).astype(np.int8),
        "two_way": df["two_way"].to_numpy(dtype=np.int8, na_value=0),
    }
    for col in ("whistles", "escalations", "bounces", "reopens"):
        c[col] = df[col].to_numpy(dtype=np.int64)
    c["duplicates"] = (df["duplicates"].to_numpy(dtype=np.int64) if "duplicates" in df
                       else np.zeros(len(df), dtype=np.int64))
    c["stage_status"] = stage_status(df)
    c["dispatched_to"] = (_codes(df["dispatched_to"], RECEIVERS).astype(np.int8)
                          if "dispatched_to" in df else np.full(len(df), -1, dtype=np.int8))
    n = len(df)  # case states (gridsim.model.states); absent from tables of older runs
    for col in ("extensions", "suspensions", "supervisions"):
        c[col] = df[col].to_numpy(dtype=np.int64) if col in df else np.zeros(n, dtype=np.int64)
    c["rejected"] = (_codes(df["rejected"], REJECTION_REASONS).astype(np.int8) if "rejected" in df
                     else np.full(n, -1, dtype=np.int8))
    if "deadline_extended" not in df:
        c["deadline_extended"] = df["deadline"].to_numpy(dtype=np.float64, na_value=np.nan)
    c.update(resident_codes(df, c["state"]))
    for col in KPI_COLUMNS:
        if col in STAGE_FLAGS:
            continue
        if col not in c:
            c[col] = df[col].to_numpy(dtype=np.float64, na_value=np.nan)
    if (c["category"] < 0).any() or (c["grid"] < 0).any():
        raise ValueError("issue rows name categories or grids this run does not have")
    return c


def names_of(issues: pd.DataFrame) -> RunNames:
    """Category names, leads and grids as they appear in an issue table."""
    cat = issues["category"]
    categories = (list(cat.cat.categories) if isinstance(cat.dtype, pd.CategoricalDtype)
                  else sorted(cat.dropna().astype(str).unique()))
    lead_of = dict(zip(cat.astype(str), issues["lead"].astype(str), strict=True))
    leads = [lead_of.get(c, "street") for c in categories]
    units = issues[["grid", "community", "street", "district"]].astype(str)
    units = units.drop_duplicates("grid")
    return RunNames(categories, leads, list(units.itertuples(index=False, name=None)))
