"""Packaging: the installed TensorFlow, TFP and Keras lie inside pyproject's bounds (TFP's
has an upper one), and the version is written once. `.ci/check_wheel` builds the wheel and
runs README's example from a fresh virtualenv."""

import importlib.metadata
import pathlib
import tomllib

from packaging.requirements import Requirement

import tfp_flows as tff

PYPROJECT = tomllib.loads(
    (pathlib.Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
REQUIREMENTS = {Requirement(line).name: Requirement(line)
                for line in PYPROJECT["project"]["dependencies"]}


def test_installed_dependencies_lie_inside_the_declared_bounds():
  for name, requirement in REQUIREMENTS.items():
    installed = importlib.metadata.version(name)
    assert requirement.specifier.contains(installed, prereleases=True), (
        f"{name} {installed} is outside {requirement}")


def test_tfp_and_keras_have_upper_bounds():
  for name in ("tensorflow-probability", "keras"):
    assert any(spec.operator == "<" for spec in REQUIREMENTS[name].specifier), (
        REQUIREMENTS[name])


def test_the_version_is_written_once():
  assert PYPROJECT["project"]["dynamic"] == ["version"]
  assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {
      "attr": "tfp_flows.__version__"}
  assert importlib.metadata.version("tfp_flows") == tff.__version__
