"""Where work runs: this process, local worker processes forked from a preloaded server (which
never outlive the command), or a Dask cluster. Knows nothing of what the tasks compute."""
