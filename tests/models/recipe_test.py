"""The builder table: every builder is in it (and in the tests' tiny table), recipes record
every argument as plain JSON, `keras.utils.set_random_seed` fixes an unseeded build, and
rebuilding calls only builders of the table."""

import inspect

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfp_flows as tff
from tests import tiny_models


def test_the_table_holds_every_public_builder():
  public = {name for name, value in vars(tff.models).items()
            if inspect.isfunction(value) and name != "bijector_kwargs"}
  assert public == set(tff.models.BUILDERS)


def test_every_builder_has_a_tiny_test_configuration():
  assert {builder for builder, _ in tiny_models.CASES.values()} == set(tff.models.BUILDERS)


@pytest.mark.parametrize("case", sorted(tiny_models.CASES))
def test_recipe_records_every_argument_and_rebuilds_the_same_flow(case):
  dist = tiny_models.build(case)
  builder, arguments = tiny_models.CASES[case]
  recipe = dist.recipe
  assert recipe["builder"] == builder
  signature = inspect.signature(tff.models.BUILDERS[builder])
  assert set(recipe["arguments"]) == set(signature.parameters)  # Defaults included.
  for key, value in arguments.items():
    assert recipe["arguments"][key] == (list(value) if isinstance(value, tuple) else value)
  rebuilt = tff.models.recipe.rebuild(recipe)
  assert rebuilt.recipe == recipe
  assert [v.shape for v in rebuilt.variables] == [v.shape for v in dist.variables]


@pytest.mark.parametrize("case", sorted(tiny_models.CASES))
def test_keras_set_random_seed_makes_an_unseeded_build_repeat_exactly(case):
  def build():
    keras.utils.set_random_seed(0)
    return [v.numpy() for v in tiny_models.build(case).variables]

  first, second = build(), build()
  assert len(first) == len(second)
  for a, b in zip(first, second):
    np.testing.assert_array_equal(a, b)


def test_recipe_is_none_for_arguments_that_are_not_plain_json():
  dist = tff.models.maf(2, num_layers=1, hidden_units=[4],
                        transform=tff.transformers.RationalQuadraticSpline(4))
  assert dist.recipe is None


def test_dtypes_are_recorded_by_name():
  assert tff.models.maf(2, num_layers=1, hidden_units=[4],
                        dtype=tf.float64).recipe["arguments"]["dtype"] == "float64"


@pytest.mark.parametrize("recipe", [
    {"builder": "eval", "arguments": {}},
    {"builder": "maf", "arguments": "event_size=2"},
    "maf",
])
def test_rebuild_refuses_what_is_not_a_recipe_of_the_table(recipe):
  with pytest.raises(ValueError, match="Expected a recipe"):
    tff.models.recipe.rebuild(recipe)


def test_numpy_arguments_become_plain_json():
  dist = tff.models.maf(np.int64(2), num_layers=1, hidden_units=np.array([4]))
  assert dist.recipe["arguments"]["event_size"] == 2
  assert dist.recipe["arguments"]["hidden_units"] == [4]
