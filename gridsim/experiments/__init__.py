"""Experiments: replications with confidence intervals, policy comparisons on common random
numbers, parameter sweeps, on local processes or a Dask cluster."""

from .decompose import Decomposition, decompose
from .experiment import Experiment, Point
from .identity import replication_seed
from .run import compare, replicate, sweep
from .stats import (
                    Interval,
                    bonferroni_level,
                    mser,
                    paired_difference,
                    replications_needed,
                    select_best,
                    suggest_warmup,
                    t_interval,
                    welch,
)
from .store import ExperimentMismatch
from .warmup import WarmupSuggestion, open_cases_per_day, study_warmup

__all__ = ["Decomposition", "Experiment", "ExperimentMismatch", "Interval", "Point",
           "bonferroni_level", "compare", "decompose",
           "mser", "paired_difference", "replicate",
           "replication_seed", "replications_needed", "select_best", "suggest_warmup",
           "study_warmup", "sweep", "t_interval", "welch", "WarmupSuggestion",
           "open_cases_per_day"]
