"""walk: leaves in data-side order, push_inverse equals inverse, kwargs reach nested layers."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_flows as tff

tfb = tfp.bijectors
walk = tff.bijectors.walk


def conditional_coupling(name):
  return tff.bijectors.Coupling([2, 2, 1], "checkerboard", transform="spline",
                                conditional_event_shape=[3], hidden_channels=4,
                                num_blocks=1, name=name)


def nested_flow():
  """Data side first: shift, a factor-out around a chain, an inverted scale."""
  inner = tfb.Chain([conditional_coupling("inner_coupling"), tfb.Scale(3., name="inner_scale")],
                    name="inner")
  return tfb.Chain([tfb.Shift(1., name="outer_shift"),
                    tff.bijectors.FactorOut(inner, [2, 2, 2], name="factor_out"),
                    tfb.Invert(tfb.Scale(2., name="scale"), name="invert")], name="outer")


def test_leaves_are_listed_data_side_first():
  names = [b.name for b in walk.leaves(nested_flow())]
  assert names == ["outer_shift", "inner_coupling", "inner_scale", "scale"]


def test_push_inverse_is_inverse_and_visits_each_bijector_with_its_input():
  flow = nested_flow()
  x = tf.random.normal([3, 2, 2, 2])
  context = tf.random.normal([3, 3])
  seen = []

  def visit(bijector, x_in):
    seen.append(bijector.name)
    if bijector.name == "inner_coupling":
      assert x_in.shape == [3, 2, 2, 1]
      return bijector.inverse(x_in, conditional_input=context)
    return None

  out = walk.push_inverse(flow, x, visit)
  kwargs = {"factor_out": {"inner_coupling": {"conditional_input": context}}}
  np.testing.assert_allclose(out, flow.inverse(x, **kwargs), rtol=1e-6)
  assert seen == ["outer_shift", "inner_coupling", "inner_scale", "invert"]


def test_nested_kwargs_reach_layers_inside_factor_outs_and_chains():
  flow = nested_flow()
  kwargs = walk.nested_kwargs(flow, lambda b: {"conditional_input": 1.}
                              if b.name == "inner_coupling" else {})
  # FactorOut hands its kwargs to its inner chain, which hands them out by name.
  assert kwargs == {"factor_out": {"inner_coupling": {"conditional_input": 1.}}}
  assert walk.nested_kwargs(flow, lambda b: {}) == {}


def test_nested_kwargs_refuse_two_layers_of_one_name():
  chain = tfb.Chain([conditional_coupling("same"), conditional_coupling("same")])
  with pytest.raises(ValueError, match="Expected distinct names"):
    walk.nested_kwargs(chain, lambda b: {"conditional_input": 1.})


def test_a_distribution_is_walked_through_its_bijector():
  dist = tff.models.maf(2, num_layers=2, hidden_units=[4])
  assert [b.name for b in walk.leaves(dist)] == ["maf_1", "maf_reverse_1", "maf_0"]
