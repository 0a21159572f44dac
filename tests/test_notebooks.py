"""Every notebook under ``notebooks/`` runs top to bottom without an error.

Notebooks are executed in memory with nbclient, in a temporary copy of ``notebooks/`` (so any
relative paths they write land there), and the executed copy is never written back: the
notebooks in the repository stay clean (no outputs).

The kernel is the interpreter running the tests: a ``python3`` kernel spec for
``sys.executable`` is written into a temporary directory and used through an explicit
``KernelSpecManager``, so a ``python3`` kernel installed elsewhere (``~/.local/share/jupyter``,
another virtual environment) cannot be picked up instead, and nothing has to be installed with
``python -m ipykernel install`` first.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from ipykernel.kernelspec import write_kernel_spec  # noqa: E402
from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(p for p in NOTEBOOKS_DIR.rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)
KERNEL = "python3"
TIMEOUT = 300  # seconds per cell


@pytest.fixture(scope="session")
def kernel_specs(tmp_path_factory: pytest.TempPathFactory) -> KernelSpecManager:
    """Kernel specs holding one ``python3`` kernel that runs ``sys.executable``."""
    kernels = tmp_path_factory.mktemp("kernels")
    write_kernel_spec(str(kernels / KERNEL))
    ksm = KernelSpecManager(kernel_dirs=[str(kernels)], ensure_native_kernel=False)
    assert ksm.get_kernel_spec(KERNEL).argv[0] == sys.executable
    return ksm


def test_notebooks_found() -> None:
    assert NOTEBOOKS, f"no notebooks under {NOTEBOOKS_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS,
                         ids=[str(p.relative_to(NOTEBOOKS_DIR)) for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path, kernel_specs: KernelSpecManager) -> None:
    work = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS_DIR, work, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    cwd = work / path.relative_to(NOTEBOOKS_DIR).parent
    nb = nbformat.read(path, as_version=4)
    km = KernelManager(kernel_name=KERNEL, kernel_spec_manager=kernel_specs)
    client = nbclient.NotebookClient(nb, km=km, kernel_name=KERNEL, timeout=TIMEOUT,
                                     allow_errors=False, resources={"metadata": {"path": str(cwd)}})
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as e:
        pytest.fail(f"{path.name}: a cell raised\n{e}", pytrace=False)
