"""gridsim: a discrete-event simulator of grid-based urban issue handling, on SimPy.

    scenario = gridsim.load_scenario("scenarios/default.yaml")
    result = gridsim.simulate(scenario, seed=1)
    result.issues, result.kpis, result.load    # pandas DataFrames
    exp = gridsim.compare(scenario, ["baseline", "four_tier"], replications=30)
    exp.summary, exp.differences, exp.best()
    parts = gridsim.decompose(scenario, policies=["baseline", "whistle"], replications=5)
    parts.table                                # which mechanism buys what
    opt = gridsim.optimise(scenario, ["streets.staff.enforcement=4..16"],
                           ["on_time_rate>=0.9 @ street=*"])
    opt.chosen, opt.confirmation, opt.candidates   # the cheapest staffing meeting the target
"""

from ._version import __version__
from .arguments import SettingError  # noqa: E402
from .experiments import (  # noqa: E402
    Decomposition,
    Experiment,
    compare,
    decompose,
    replicate,
    suggest_warmup,
    sweep,
)
from .optimise import Optimisation, optimise  # noqa: E402
from .results.result import Result  # noqa: E402
from .runner import simulate  # noqa: E402
from .scenario import Scenario, ScenarioError, bundled_scenario, load_scenario  # noqa: E402

__all__ = ["Decomposition", "Experiment", "Optimisation", "Result", "Scenario", "ScenarioError",
           "SettingError", "__version__", "bundled_scenario", "compare", "decompose",
           "load_scenario", "optimise", "replicate", "simulate", "suggest_warmup", "sweep"]
