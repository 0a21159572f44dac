"""Published metrics: the table of figures cities published, regression checks against them,
and calibration of free parameters to targets."""

from .calibrate import Calibration, Param, Target, calibrate
from .checks import Check, load_checks, select
from .run import failures, run_check, run_checks, survivors

__all__ = ["Calibration", "Check", "Param", "Target", "calibrate", "failures", "load_checks",
           "run_check", "run_checks", "select", "survivors"]
