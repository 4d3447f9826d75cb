"""The API reference (`docs/build_api.py`): a page per public module, each public name on
its page, and an index that links the pages and the notebooks."""

import html as html_lib
import importlib
import pathlib
import re
import tomllib
import types

import pytest

from tests.api import build_api

REPO = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def out(tmp_path_factory):
  folder = tmp_path_factory.mktemp("api")
  build_api.main(["--out", str(folder)])  # The documented command, in this process.
  return folder


def page(out, module_name):
  return (out / build_api.page_path(module_name)).read_text(encoding="utf-8")


def test_there_is_a_page_per_public_module_and_no_other(out):
  pages = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html"))
  assert pages == sorted(["index.html"] + [build_api.page_path(name)
                                           for name in build_api.PUBLIC_MODULES])
  assert not [p for p in pages if "/_" in p or "cli" in p]  # No private modules, no cli.


@pytest.mark.parametrize("module_name", build_api.PUBLIC_MODULES)
def test_each_public_name_is_documented_on_its_page(out, module_name):
  module = importlib.import_module(module_name)
  submodules = build_api.child_modules(module_name)  # Each on its own page.
  names = [name for name in build_api.public_names(module) if name not in submodules]
  html = page(out, module_name)
  assert not [name for name in names if f'id="{name}"' not in html]
  if module_name != "tfp_flows":
    assert names


def test_the_examples_are_on_the_pages(out):
  html = page(out, "tfp_flows.bijectors")
  objects = build_api.public_objects(importlib.import_module("tfp_flows.bijectors"))
  assert html.count('id="example"') >= len(objects)
  text = html_lib.unescape(re.sub("<[^>]+>", "", html))
  assert ">>> maf = tff.bijectors.MaskedAutoregressiveFlow(made)" in text


def test_the_index_links_every_module_and_notebook(out):
  index = (out / "index.html").read_text(encoding="utf-8")
  assert all(f'href="{build_api.page_path(name)}"' in index
             for name in build_api.PUBLIC_MODULES)
  with open(REPO / "pyproject.toml", "rb") as f:
    repository = tomllib.load(f)["project"]["urls"]["Repository"]
  github = repository.removeprefix("https://github.com/")
  notebooks = sorted((REPO / "colabs").glob("*.ipynb"))
  assert notebooks
  for notebook in notebooks:
    assert (f'href="https://colab.research.google.com/github/{github}/blob/main/colabs/'
            f'{notebook.name}"') in index
    assert f'href="{repository}/blob/main/colabs/{notebook.name}"' in index


def test_every_public_module_lists_all_its_public_names_and_submodules():
  """`__all__` (what pdoc documents) names every public submodule and every class, function
  and constant the module defines or imports from tfp_flows: none is left out."""
  for name in build_api.PUBLIC_MODULES:
    module = importlib.import_module(name)
    offered = [key for key, value in vars(module).items()
               if not key.startswith("_") and not isinstance(value, types.ModuleType)
               and getattr(value, "__module__", "tfp_flows").startswith("tfp_flows")]
    assert sorted(module.__all__) == sorted(offered + build_api.child_modules(name)), name
