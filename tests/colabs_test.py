"""The colab notebooks: Colab can start each one, they are stored with small outputs, and
each runs top to bottom in a fresh kernel.

Every notebook ends with a cell of `assert`s (finite test NLL that beats the untrained
model, samples of the right shape and range, ...), so a notebook whose training goes wrong
fails here, not only one that raises. They run from a copy with their stored outputs
cleared (the stored ones are never trusted), with `TFP_FLOWS_QUICK=1` (small sizes), in a
kernel of this very interpreter (`colabs/store_outputs.py` writes a temporary kernelspec
pointing at `sys.executable`, so an unrelated "python3" kernel on the machine is never used).

The repository's address is written once, in pyproject.toml's `[project.urls]`: each
notebook's install cell and colabs/README.md's "Open in Colab" links are checked against it.

Needs `nbformat`, `nbclient`, `ipykernel` and `matplotlib` (plus `scikit-learn`).
"""

import importlib.util
import os
import pathlib
import re
import sys
import tempfile
import tomllib

import nbclient
import nbformat
import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
COLABS = REPO / "colabs"
NOTEBOOKS = sorted(COLABS.glob("*.ipynb"))
MAX_BYTES = 400_000  # A stored notebook, figures included.


def _store_outputs():
  spec = importlib.util.spec_from_file_location("store_outputs", COLABS / "store_outputs.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


store_outputs = _store_outputs()


def repository_url():
  with open(REPO / "pyproject.toml", "rb") as f:
    return tomllib.load(f)["project"]["urls"]["Repository"]


def install_line():
  return f'%pip install -q "tfp_flows @ git+{repository_url()}"'


def code_cells(nb):
  return [cell for cell in nb.cells if cell.cell_type == "code"]


def test_there_are_notebooks():
  assert [p.name for p in NOTEBOOKS] == [
      "1_mixture_cdf_flow.ipynb", "2_maf_iaf.ipynb", "3_realnvp.ipynb", "4_glow.ipynb",
      "5_splines_and_flowpp.ipynb", "6_conditional_flows.ipynb",
      "7_distributed_training.ipynb"]


def test_the_repository_url_is_a_github_repository():
  assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", repository_url()), repository_url()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_valid_and_starts_by_importing_or_installing_tfp_flows(path):
  nb = nbformat.read(path, as_version=4)
  nbformat.validate(nb)
  assert nb.nbformat == 4
  first = code_cells(nb)[0].source
  assert first.count("import tfp_flows as tff") == 2  # Importable, else after installing.
  assert 'os.path.join("..", "tfp_flows")' in first  # Run from colabs/ inside a checkout.
  installs = [line.strip() for line in first.splitlines() if "pip install" in line]
  assert installs == [install_line()], installs
  assert "TFP_FLOWS_QUICK" in "".join(cell.source for cell in code_cells(nb)[:3])
  assert "assert " in code_cells(nb)[-1].source  # The sanity checks the run below relies on.


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_with_small_outputs(path):
  text = path.read_text()
  assert len(text.encode()) < MAX_BYTES, f"{path.name}: {len(text.encode())} bytes"
  nb = nbformat.reads(text, as_version=4)
  code = code_cells(nb)
  counts = [cell.execution_count for cell in code]
  assert counts == list(range(1, len(code) + 1)), (
      f"{path.name}: store it run top to bottom with colabs/store_outputs.py ({counts})")
  outputs = [output for cell in code for output in cell.outputs]
  assert not [output for output in outputs if output.output_type == "error"]
  assert not [output for output in outputs if output.get("name") == "stderr"]
  assert any("image/png" in output.get("data", {}) for output in outputs), "no figure stored"
  assert "all checks passed" in "".join(output.get("text", "") for output in code[-1].outputs)
  assert all("execution" not in cell.metadata for cell in code)  # No timings.
  assert set(nb.metadata) == {"colab", "kernelspec", "language_info"}, nb.metadata
  for machine_path in {str(REPO), tempfile.gettempdir() + os.sep, os.path.expanduser("~") + os.sep,
                       sys.prefix}:
    assert machine_path not in text, f"{path.name} stores a path of this machine: {machine_path}"


def test_readme_opens_each_notebook_in_colab_from_the_repository():
  readme = (COLABS / "README.md").read_text()
  owner_repo = repository_url().removeprefix("https://github.com/")
  colab = f"https://colab.research.google.com/github/{owner_repo}/blob/main/colabs/"
  links = re.findall(r"https://colab\.research\.google\.com/[^\s)\]]+", readme)
  assert sorted(links) == sorted(colab + p.name for p in NOTEBOOKS), links
  assert install_line() in readme  # The install command it shows.
  github = re.findall(r"https://github\.com/[^\s)\]\"'`]+", readme)
  assert github and all(link.startswith(repository_url() + "/") or link == repository_url()
                        for link in github), github
  for path in NOTEBOOKS:  # One table row each, with its quick-mode run time.
    assert re.search(rf"\| `{re.escape(path.name)}` \| \[Open in Colab\]\("
                     rf"{re.escape(colab + path.name)}\) \| .+ \| \d+ s \|", readme), path.name


def test_first_cell_installs_tfp_flows_when_it_is_not_importable(tmp_path):
  """The Colab branch: outside a checkout, with `import tfp_flows` failing, the first cell
  runs the `%pip install` line (a stand-in `%pip` here, which then lets the import work)."""
  first = code_cells(nbformat.read(NOTEBOOKS[0], as_version=4))[0].source
  hide = ("import sys\n"
          "class Hide:  # Makes `import tfp_flows` fail until the stand-in %pip runs.\n"
          "  hidden = True\n"
          "  def find_spec(self, name, path=None, target=None):\n"
          "    if Hide.hidden and name.split('.')[0] == 'tfp_flows':\n"
          "      raise ModuleNotFoundError(f'No module named {name!r}')\n"
          "sys.meta_path.insert(0, Hide())\n"
          "installs = []\n"
          "def pip(line):\n"
          "  installs.append(line)\n"
          "  Hide.hidden = False\n"
          "get_ipython().register_magic_function(pip, 'line', 'pip')")
  check = "print(repr(installs), tff.__name__)"
  nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)
                                       for source in (hide, first, check)])
  store_outputs.execute(nb, tmp_path)  # Its working directory has no ../tfp_flows.
  line = install_line().removeprefix("%pip ")
  assert nb.cells[2].outputs[0].text.strip() == f"{[line]!r} tfp_flows"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, tmp_path):
  nb = store_outputs.clear_outputs(nbformat.read(path, as_version=4))
  try:
    seconds = store_outputs.execute(nb, tmp_path, timeout=300)  # Per cell.
  except nbclient.exceptions.CellExecutionError as error:
    message = re.sub(r"\x1b\[[0-9;]*m", "", str(error))  # No terminal colours.
    pytest.fail(f"{path.name}: a cell failed:\n{message}", pytrace=False)
  print(f"{path.name}: {seconds:.1f} s")
  code = code_cells(nb)
  assert not [output for cell in code for output in cell.outputs
              if output.output_type == "error"]
  assert "all checks passed" in "".join(output.get("text", "") for output in code[-1].outputs)
