"""The notebooks run (STYLE.md habit 9): each .ipynb matches its jupytext source (the .py,
py:percent), carries no outputs, and executes from top to bottom with nbclient on the
python3 kernel, with few replications (PREEMPTSIM_NOTEBOOK_REPS).
"""

from __future__ import annotations

from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SOURCES = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))
REPS = "20"
CELL_TIMEOUT_S = 120


def test_there_are_notebooks() -> None:
    assert [p.stem for p in SOURCES] == [
        "01_quickstart",
        "02_checkpoint_interval",
        "03_deadline_risk",
        "04_real_traces",
        "05_calibration",
        "06_fitted_models",
        "07_moving_zones",
    ]


def cells(notebook: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_ipynb_matches_its_source_and_has_no_outputs(source: Path) -> None:
    paired = source.with_suffix(".ipynb")
    assert paired.is_file(), f"run: jupytext --to ipynb notebooks/{source.name}"
    committed = nbformat.read(paired, as_version=4)
    assert cells(committed) == cells(jupytext.read(source)), (
        f"{paired.name} is stale: run jupytext --to ipynb notebooks/{source.name}"
    )
    code = [cell for cell in committed.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
    assert committed.metadata.kernelspec.name == "python3"


def execute(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    client = nbclient.NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    return notebook


def outputs(notebook: nbformat.NotebookNode) -> list[str]:
    """The MIME types of the rich outputs."""
    return [
        kind
        for cell in notebook.cells
        for out in cell.get("outputs", [])
        for kind in out.get("data", {})
    ]


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_notebook_runs(source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREEMPTSIM_NOTEBOOK_REPS", REPS)
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    ran = execute(nbformat.read(source.with_suffix(".ipynb"), as_version=4))
    assert "image/png" in outputs(ran), "every notebook draws at least one figure"
