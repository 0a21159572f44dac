"""gridsim: a discrete-event simulator of grid-based urban issue handling on SimPy."""

__version__ = "0.1.0"
