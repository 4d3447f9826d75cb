"""The colab notebooks: stored without outputs, and each runs top to bottom in a fresh kernel.

Every notebook ends with a cell of `assert`s (finite test NLL that beats the untrained
model, samples of the right shape and range, ...), so a notebook whose training goes wrong
fails here, not only one that raises. They run with `TFP_FLOWS_QUICK=1` (small sizes) in a
kernel of this very interpreter (a temporary kernelspec pointing at `sys.executable`, so
an unrelated "python3" kernel installed on the machine is never used).

Needs `nbformat`, `nbclient`, `ipykernel` and `matplotlib` (plus `scikit-learn`).
"""

import json
import os
import pathlib
import re
import sys
import time

import nbclient
import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager

REPO = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "colabs").glob("*.ipynb"))
KERNEL = "tfp_flows_colabs_test"
CELL_TIMEOUT_S = 300


def test_there_are_notebooks():
  assert [p.name for p in NOTEBOOKS] == [
      "1_mixture_cdf_flow.ipynb", "2_maf_iaf.ipynb", "3_realnvp.ipynb", "4_glow.ipynb",
      "5_splines_and_flowpp.ipynb", "6_conditional_flows.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_valid_and_stored_without_outputs(path):
  nb = nbformat.read(path, as_version=4)
  nbformat.validate(nb)
  assert nb.nbformat == 4
  code = [cell for cell in nb.cells if cell.cell_type == "code"]
  assert all(not cell.outputs and cell.execution_count is None for cell in code), (
      f"{path.name} has outputs: clear them before committing")
  assert "import tfp_flows" in code[0].source and "pip install -e ." in code[0].source
  assert "TFP_FLOWS_QUICK" in "".join(cell.source for cell in code[:3])
  assert "assert " in code[-1].source  # The sanity checks the run below relies on.


def kernel_manager(kernel_dir):
  """A kernel manager for this interpreter, with the quick settings in its environment."""
  spec_dir = kernel_dir / KERNEL
  spec_dir.mkdir(parents=True)
  python_path = os.pathsep.join(p for p in [str(REPO), os.environ.get("PYTHONPATH")] if p)
  spec = {
      "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
      "display_name": "tfp_flows colabs test",
      "language": "python",
      "env": {"TFP_FLOWS_QUICK": "1", "TF_CPP_MIN_LOG_LEVEL": "2", "MPLBACKEND": "Agg",
              "PYTHONPATH": python_path},
  }
  (spec_dir / "kernel.json").write_text(json.dumps(spec))
  return AsyncKernelManager(kernel_name=KERNEL,
                            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dir)]))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, tmp_path):
  nb = nbformat.read(path, as_version=4)
  work_dir = tmp_path / "work"  # The notebook's working directory (files it writes).
  work_dir.mkdir()
  client = nbclient.NotebookClient(
      nb, km=kernel_manager(tmp_path / "kernels"), timeout=CELL_TIMEOUT_S,
      resources={"metadata": {"path": str(work_dir)}})
  start = time.time()
  try:
    client.execute(cleanup_kc=True)  # Shut the kernel down afterwards, though we made its km.
  except nbclient.exceptions.CellExecutionError as error:
    message = re.sub(r"\x1b\[[0-9;]*m", "", str(error))  # No terminal colours.
    pytest.fail(f"{path.name}: a cell failed:\n{message}", pytrace=False)
  print(f"{path.name}: {time.time() - start:.1f} s")
  code = [cell for cell in nb.cells if cell.cell_type == "code"]
  assert not [output for cell in code for output in cell.outputs
              if output.output_type == "error"]
  assert "all checks passed" in "".join(output.get("text", "") for output in code[-1].outputs)
