"""The `Example:` sections of the public docstrings run, and every public name has one.

The public modules and names are `docs/build_api.py`'s (`PUBLIC_MODULES`, `public_names`):
every docstring of those modules, of their public classes (methods included) and functions
runs as a doctest with the globals `tf`, `np`, `tfd`, `tfb`, `keras` and `tff`, one test per
docstring, so a failure names the object whose example broke.
"""

import doctest
import importlib

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_flows as tff
from tests.api import build_api

GLOBALS = {"tf": tf, "np": np, "tfd": tfp.distributions, "tfb": tfp.bijectors,
           "keras": keras, "tff": tff}
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def public_objects():
  """`{public name: object}`, each object once, under the first module that offers it."""
  found, seen = {}, set()
  for module_name in build_api.PUBLIC_MODULES:
    module = importlib.import_module(module_name)
    for name, value in build_api.public_objects(module).items():
      if id(value) not in seen:
        seen.add(id(value))
        found[f"{module_name}.{name}"] = value
  return found


def docstring_tests():
  """The doctests of the public modules' own docstrings and of every public object."""
  own = doctest.DocTestFinder(recurse=False)
  deep = doctest.DocTestFinder()  # Classes: their methods' docstrings too.
  tests = [t for name in build_api.PUBLIC_MODULES
           for t in own.find(importlib.import_module(name), name, globs=GLOBALS)]
  for name, value in public_objects().items():
    tests += deep.find(value, name, module=False, globs=GLOBALS)
  return [t for t in tests if t.examples]


TESTS = docstring_tests()


def test_every_public_class_and_function_has_an_example():
  finder = doctest.DocTestFinder(recurse=False)
  missing = [name for name, value in public_objects().items()
             if not any(t.examples for t in finder.find(value, name, module=False))]
  assert not missing, f"Public names without an `Example:` doctest: {missing}"


def test_the_examples_cover_every_public_module():
  assert len(public_objects()) > 40
  assert {t.name for t in TESTS} >= set(public_objects())


@pytest.mark.parametrize("test", TESTS, ids=lambda t: t.name)
def test_example_runs(test):
  report = []
  runner = doctest.DocTestRunner(optionflags=OPTIONS)
  result = runner.run(test, out=report.append)
  assert result.failed == 0, "".join(report)
  assert result.attempted == len(test.examples)
