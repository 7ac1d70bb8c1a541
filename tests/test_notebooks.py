"""Every notebook in examples/ runs top to bottom (offline, embedded model, small budgets)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))
CELL_TIMEOUT_S = 600


@pytest.mark.integration
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    for name, value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                        "ANONYMIZED_TELEMETRY": "False"}.items():
        monkeypatch.setenv(name, value)
    # The kernel must be this interpreter (the venv with the package), not some other python3.
    try:
        spec = KernelSpecManager().get_kernel_spec("python3")
        same = Path(spec.argv[0]).resolve() == Path(sys.executable).resolve() or spec.argv[0] in (
            "python", "python3", "{python}")
    except NoSuchKernel:
        same = False
    if not same:
        from ipykernel.kernelspec import install

        prefix = tmp_path / "jupyter"
        install(prefix=str(prefix), kernel_name="python3")
        monkeypatch.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")

    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},  # the notebook's working directory
    )
    client.execute()  # raises CellExecutionError (with the cell and traceback) on any error
