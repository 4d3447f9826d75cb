"""Builds the API reference of tfp_flows from its docstrings with pdoc.

    PYTHONPATH=. .venv/bin/python docs/build_api.py [--out DIR]     # default docs/api/

Writes one HTML page per public module (`PUBLIC_MODULES`: the package, the bijector
families, `nn`, `transformers`, `models`, `keras` and the single-file modules; not the
private `_*` modules, not `cli`), pdoc's search index, and an `index.html` that links those
pages and the notebooks in `colabs/` (the file, and its "Open in Colab" address built from
pyproject's `[project.urls].Repository`). See docs/api.md.

Every public module declares `__all__` (its public names and public submodules), which is
what pdoc documents; `tests/docs_test.py` checks that it leaves nothing out.
"""

import argparse
import html
import importlib
import inspect
import json
import os
import pathlib
import tomllib
import types

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # Before anything imports TensorFlow.

import pdoc.doc  # pylint: disable=g-import-not-at-top
import pdoc.render  # pylint: disable=g-import-not-at-top
from pdoc import render_helpers  # pylint: disable=g-import-not-at-top

REPO = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "docs" / "api"
COLAB = "https://colab.research.google.com/github/"

PUBLIC_MODULES = (
    "tfp_flows",
    "tfp_flows.bijectors",
    "tfp_flows.bijectors.autoregressive",
    "tfp_flows.bijectors.coupling",
    "tfp_flows.bijectors.image",
    "tfp_flows.bijectors.preprocessing",
    "tfp_flows.bijectors.walk",
    "tfp_flows.nn",
    "tfp_flows.transformers",
    "tfp_flows.models",
    "tfp_flows.keras",
    "tfp_flows.distributions",
    "tfp_flows.conditioning",
    "tfp_flows.data",
    "tfp_flows.metrics",
    "tfp_flows.files",
)


def public_names(module):
  """The names `module` offers: its `__all__`."""
  return list(module.__all__)


def public_objects(module):
  """`{name: object}` for the public classes and functions of `module` (not constants)."""
  objects = {name: getattr(module, name) for name in public_names(module)}
  return {name: value for name, value in objects.items()
          if inspect.isclass(value) or inspect.isfunction(value)}


def child_modules(module_name):
  """The short names of the public modules directly inside `module_name`."""
  return [name.rpartition(".")[2] for name in PUBLIC_MODULES
          if name.rpartition(".")[0] == module_name]


def page_path(module_name):
  """Where pdoc writes a module's page, relative to the output folder."""
  return module_name.replace(".", "/") + ".html"


def notebooks():
  """`[(path in the repository, title, GitHub address, Colab address)]` for `colabs/*.ipynb`.

  The addresses are built from pyproject's `[project.urls].Repository`; the title is the
  first line of the notebook's first markdown cell.
  """
  with open(REPO / "pyproject.toml", "rb") as f:
    repository = tomllib.load(f)["project"]["urls"]["Repository"].rstrip("/")
  github = repository.removeprefix("https://github.com/")
  found = []
  for path in sorted((REPO / "colabs").glob("*.ipynb")):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    text = next(("".join(c["source"]) for c in cells if c["cell_type"] == "markdown"), "")
    title = text.strip().split("\n")[0].lstrip("# ") or path.stem
    relative = path.relative_to(REPO).as_posix()
    found.append((relative, title, f"{repository}/blob/main/{relative}",
                  f"{COLAB}{github}/blob/main/{relative}"))
  return found


def index_html(modules):
  """The landing page: each module's page with its summary line, then the notebooks."""
  rows = []
  for module in modules:
    summary = (inspect.getdoc(module) or "").split("\n\n")[0].replace("\n", " ")
    summary = render_helpers.to_html(summary).strip().removeprefix("<p>").removesuffix("</p>")
    rows.append(f'<li><a href="{page_path(module.__name__)}"><code>{module.__name__}</code>'
                f"</a>: {summary}</li>")
  books = [f'<li><a href="{html.escape(url)}"><code>{path}</code></a>: {html.escape(title)} '
           f'(<a href="{html.escape(colab)}">open in Colab</a>)</li>'
           for path, title, url, colab in notebooks()]
  return ("<!doctype html>\n<html><head><meta charset=\"utf-8\">"
          "<title>tfp_flows API reference</title></head>\n<body>\n"
          "<h1>tfp_flows API reference</h1>\n<h2>Modules</h2>\n<ul>\n" + "\n".join(rows) +
          "\n</ul>\n<h2>Notebooks</h2>\n<ul>\n" + "\n".join(books) + "\n</ul>\n</body></html>\n")


def build(out=DEFAULT_OUT):
  """Writes the pages into `out`; returns `{module name: page path}`."""
  out = pathlib.Path(out)
  modules = [importlib.import_module(name) for name in PUBLIC_MODULES]
  pdoc.render.configure(docformat="google", show_source=False, search=True,
                        footer_text=f"tfp_flows {modules[0].__version__}")
  docs = {module.__name__: pdoc.doc.Module(module) for module in modules}
  pages = {}
  for name, doc in docs.items():
    path = out / page_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(pdoc.render.html_module(doc, docs), encoding="utf-8")
    pages[name] = path
  (out / "search.js").write_text(pdoc.render.search_index(docs), encoding="utf-8")
  (out / "index.html").write_text(index_html(modules), encoding="utf-8")
  return pages


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--out", default=str(DEFAULT_OUT), help="output folder (docs/api/)")
  args = parser.parse_args(argv)
  pages = build(args.out)
  print(f"Wrote {len(pages)} module pages and index.html to {args.out}")


if __name__ == "__main__":
  main()
