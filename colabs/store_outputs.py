"""Runs notebooks top to bottom and stores them with their (small) outputs, in place.

    python colabs/store_outputs.py                        # every notebook, quick settings
    python colabs/store_outputs.py 4_glow.ipynb --full    # one notebook, full settings

Quick settings (`TFP_FLOWS_QUICK=1`, what the tests use) are the default; `--full` runs the
notebook's full settings. Each notebook runs in a fresh kernel of this interpreter, in an
empty temporary working directory, with `nbclient`; a cell that raises stops the run and
the file is left as it was. So that a reader browsing the repository sees the pictures
while re-running gives small diffs, the stored notebook keeps only:

- figures as PNG at `DPI` dots per inch, in 256 colours (about half the bytes);
- stdout, each text output cut to its first `HEAD_LINES` and last `TAIL_LINES` lines
  (carriage-return progress bars collapsed to their last state); stderr (TensorFlow's and
  Python's warnings, which name files of this machine) is dropped;
- no execution timings, kernel ids or interpreter versions: the notebook's metadata is
  restored as it was, and cells keep only the metadata they had.

`execute` (a notebook in a kernel of this interpreter) and `clear_outputs` are what
tests/colabs_test.py uses to run each notebook from a copy with its outputs cleared.
"""

import argparse
import base64
import copy
import io
import json
import os
import pathlib
import re
import sys
import tempfile
import time

import nbclient
import nbformat
from PIL import Image  # Pillow: a requirement of matplotlib.
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient.util import run_sync

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
KERNEL = "tfp_flows_colabs"
CELL_TIMEOUT_S = 1800
DPI = 60
HEAD_LINES, TAIL_LINES = 40, 10
# Run before the first cell, not stored: inline PNG figures at DPI (the default is 100).
FIGURE_SETUP = ("%matplotlib inline\n%config InlineBackend.figure_formats = ['png']\n"
                f"%config InlineBackend.print_figure_kwargs = "
                f"{{'bbox_inches': 'tight', 'dpi': {DPI}}}")


def kernel_manager(kernel_dir, quick=True, figures=False):
  """An `AsyncKernelManager` for a kernel of this interpreter (a kernelspec in `kernel_dir`).

  The kernel inherits this process's environment, updated by: `quick`, which sets
  `TFP_FLOWS_QUICK=1`; `figures`, `False` for uses the Agg
  backend (no figure outputs, what the tests want), `True` for the inline one. The repository is
  put first on `PYTHONPATH`, so the kernel imports this checkout's `tfp_flows`.
  """
  spec_dir = pathlib.Path(kernel_dir) / KERNEL
  spec_dir.mkdir(parents=True, exist_ok=True)
  python_path = os.pathsep.join(p for p in [str(REPO), os.environ.get("PYTHONPATH")] if p)
  env = {"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": python_path,
         "MPLBACKEND": "module://matplotlib_inline.backend_inline" if figures else "Agg"}
  if quick:
    env["TFP_FLOWS_QUICK"] = "1"
  spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
          "display_name": "tfp_flows colabs", "language": "python", "env": env}
  (spec_dir / "kernel.json").write_text(json.dumps(spec))
  return AsyncKernelManager(kernel_name=KERNEL,
                            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dir)]))


def clear_outputs(nb):
  """Returns a copy of notebook `nb` without outputs or execution counts."""
  nb = copy.deepcopy(nb)
  for cell in nb.cells:
    if cell.cell_type == "code":
      cell.outputs, cell.execution_count = [], None
  return nb


def execute(nb, work_dir, quick=True, figures=False, timeout=CELL_TIMEOUT_S):
  """Runs every cell of `nb` (in place) in a fresh kernel whose working directory is
  `work_dir`; returns the seconds it took. Raises `nbclient.exceptions.CellExecutionError`
  for a cell that raises."""
  work_dir = pathlib.Path(work_dir)
  kernel_dir = work_dir / ".kernels"  # (Hidden: a notebook listing its directory won't see it.)
  client = nbclient.NotebookClient(
      nb, km=kernel_manager(kernel_dir, quick, figures), timeout=timeout,
      record_timing=False, resources={"metadata": {"path": str(work_dir)}})
  start = time.time()
  with client.setup_kernel(cleanup_kc=True):  # We own the kernel: shut it down after.
    if figures:
      reply = run_sync(client.kc.execute_interactive)(FIGURE_SETUP, silent=True, timeout=60)
      if reply["content"]["status"] != "ok":
        raise RuntimeError(f"Expected the figure setup to run. Received: {reply['content']}")
    for index, cell in enumerate(nb.cells):
      client.execute_cell(cell, index)
  return time.time() - start


def _palette_png(data):
  """Base64 PNG `data` recoded with a palette of 256 colours."""
  image = Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB").quantize(256)
  buffer = io.BytesIO()
  image.save(buffer, "PNG", optimize=True)
  return base64.b64encode(buffer.getvalue()).decode("ascii")


def _trim(text):
  lines = [line.rsplit("\r", 1)[-1] for line in text.split("\n")]  # Progress bars' last state.
  if len(lines) > HEAD_LINES + TAIL_LINES + 1:
    cut = len(lines) - HEAD_LINES - TAIL_LINES
    lines = lines[:HEAD_LINES] + [f"... ({cut} lines left out)"] + lines[-TAIL_LINES:]
  return "\n".join(lines)


def shrink(nb, original):
  """Keeps the small, stable part of the outputs of `nb`, executed from `original`."""
  nb.metadata = copy.deepcopy(original.metadata)
  for cell, before in zip(nb.cells, original.cells):
    cell.metadata = copy.deepcopy(before.metadata)
    if cell.cell_type != "code":
      continue
    outputs = []
    for output in cell.outputs:
      if output.output_type == "stream":
        if output.name == "stderr":
          continue
        output.text = _trim(output.text)
      elif output.output_type in ("display_data", "execute_result"):
        output.metadata = {}
        if "image/png" in output.data:  # Drop other renderings of a figure.
          output.data = {k: v for k, v in output.data.items() if k in ("image/png", "text/plain")}
          output.data["image/png"] = _palette_png(output.data["image/png"])
      if outputs and output.output_type == "stream" and outputs[-1].output_type == "stream" \
          and outputs[-1].name == output.name:
        outputs[-1].text += output.text
      else:
        outputs.append(output)
    cell.outputs = outputs
  return nb


def store(path, quick=True):
  """Runs the notebook at `path` and writes it back with its shrunk outputs."""
  path = pathlib.Path(path)
  original = nbformat.read(path, as_version=4)
  nb = clear_outputs(original)
  with tempfile.TemporaryDirectory() as work_dir:
    seconds = execute(nb, work_dir, quick=quick, figures=True)
  nb = shrink(nb, original)
  text = nbformat.writes(nb) + "\n"
  if re.search(re.escape(str(REPO)) + "|" + re.escape(tempfile.gettempdir() + os.sep), text):
    raise ValueError(f"Expected outputs without paths of this machine. Received: {path.name} "
                     "prints one; print a name relative to the working directory instead.")
  path.write_text(text)
  return seconds, len(text.encode())


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("notebooks", nargs="*", help="notebook files (default: every one in "
                      "colabs/), as paths or names inside colabs/")
  parser.add_argument("--full", action="store_true", help="full settings instead of quick")
  args = parser.parse_args(argv)
  if args.full:  # (Kernels inherit this environment.)
    os.environ.pop("TFP_FLOWS_QUICK", None)
  paths = [p if p.exists() else HERE / p.name for p in map(pathlib.Path, args.notebooks)]
  for path in paths or sorted(HERE.glob("*.ipynb")):
    seconds, size = store(path, quick=not args.full)
    print(f"{path.name}: {'full' if args.full else 'quick'} settings, {seconds:.0f} s, "
          f"{size / 1e3:.0f} KB stored")


if __name__ == "__main__":
  main()
