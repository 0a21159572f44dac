"""Staffing optimisation: the cheapest head counts that meet stochastic targets, by simulation
optimisation on common random numbers.

    opt = gridsim.optimise(scenario, ["streets.staff.enforcement=2..20"],
                           ["on_time_rate>=0.9 @ street=*"], replications=5)
    opt.chosen, opt.cost, opt.confirmation, opt.candidates, opt.binding
    opt.write("results/optimise")          # optimum.yaml, tables, frontier plot

:mod:`.variables` (what may change), :mod:`.targets` (what must hold), :mod:`.costs` (what
it costs), :mod:`.bounds` (where the search starts), :mod:`.evaluate` (replications on common
random numbers), :mod:`.search` (the search), :mod:`.result` (what it returns).
"""

from .bounds import erlang_c, least_servers
from .costs import Costs, read_costs
from .result import Optimisation
from .run import optimise
from .targets import Target

__all__ = ["Costs", "Optimisation", "Target", "erlang_c", "least_servers", "optimise",
           "read_costs"]
