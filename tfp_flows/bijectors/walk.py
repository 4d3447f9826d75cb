"""Walking a flow's bijectors: the one place that knows how bijectors nest.

A flow's bijector is a tree. `tfb.Chain` holds its `bijectors` (`bijectors[0]` is on the
data side: `inverse` runs it first), `tfb.Invert` holds one `bijector` run the other way,
and `tff.bijectors.FactorOut` holds an inner `bijector` that sees part of the channels;
every other bijector is a leaf. `leaves` lists them, `push_inverse` runs `inverse` through
the tree one leaf at a time, and `nested_kwargs` builds the `bijector_kwargs` that reach
chosen leaves.
"""

import tensorflow_probability as tfp

from tfp_flows.bijectors.image import factor_out


def _is(bijector, private_name):
  # tfb.Chain(...) and tfb.Invert(...) of bijectors that are not CompositeTensors (ours
  # hold Keras networks) build TFP's private `_Chain` / `_Invert`, which the public classes
  # derive from: match either.
  return any(cls.__name__ == private_name for cls in type(bijector).__mro__)


def is_chain(bijector):
  """Whether `bijector` is a `tfb.Chain` (TFP's public class or its private `_Chain`).

  Example:
    >>> tff.bijectors.walk.is_chain(tfb.Chain([tfb.Shift(1.), tfb.Scale(2.)]))
    True
    >>> tff.bijectors.walk.is_chain(tfb.Shift(1.))
    False
  """
  return _is(bijector, "_Chain")


def is_invert(bijector):
  """Whether `bijector` is a `tfb.Invert` (TFP's public class or its private `_Invert`).

  Example:
    >>> tff.bijectors.walk.is_invert(tfb.Invert(tfb.Exp()))
    True
    >>> tff.bijectors.walk.is_invert(tfb.Exp())
    False
  """
  return _is(bijector, "_Invert")


def bijector_of(flow):
  """`flow.bijector` for a transformed distribution, `flow` itself for a bijector.

  Example:
    >>> dist = tff.models.maf(2, num_layers=1, hidden_units=[4])
    >>> tff.bijectors.walk.bijector_of(dist) is dist.bijector
    True
    >>> shift = tfb.Shift(1.)
    >>> tff.bijectors.walk.bijector_of(shift) is shift
    True
  """
  return flow.bijector if isinstance(flow, tfp.distributions.Distribution) else flow


def children(bijector):
  """The bijectors directly inside `bijector`, data side first; `[]` for a leaf.

  Example:
    >>> flow = tfb.Chain([tfb.Shift(1.), tfb.Invert(tfb.Scale(2.))])
    >>> [b.name for b in tff.bijectors.walk.children(flow)]
    ['shift', 'invert_scale']
    >>> tff.bijectors.walk.children(tfb.Shift(1.))
    []
  """
  if is_chain(bijector):
    return list(bijector.bijectors)
  if is_invert(bijector) or isinstance(bijector, factor_out.FactorOut):
    return [bijector.bijector]
  return []


def leaves(flow):
  """Every leaf bijector of `flow` (a bijector or a distribution), depth first, data side
  first (the order of `inverse` for chains).

  Example:
    >>> flow = tfb.Chain([tfb.Shift(1.), tfb.Invert(tfb.Chain([tfb.Scale(2.), tfb.Exp()]))])
    >>> [b.name for b in tff.bijectors.walk.leaves(flow)]
    ['shift', 'scale', 'exp']
  """
  bijector = bijector_of(flow)
  inner = children(bijector)
  if not inner:
    return [bijector]
  return [leaf for child in inner for leaf in leaves(child)]


def takes_context(bijector):
  """Whether `bijector` takes a `conditional_input` (it has a `conditional_event_shape`).

  Example:
    >>> made = tff.nn.MADE(2, [2], [4], conditional_event_shape=[3])
    >>> tff.bijectors.walk.takes_context(tff.bijectors.MaskedAutoregressiveFlow(made))
    True
    >>> tff.bijectors.walk.takes_context(tfb.Shift(1.))
    False
  """
  return getattr(bijector, "conditional_event_shape", None) is not None


def push_inverse(flow, x, visit, conditional_input=None):
  """`flow.inverse(x)`, run through chains and factor-outs one bijector at a time.

  `visit(bijector, x_in)` is called for every other bijector met on the way (leaves, and
  `tfb.Invert`s as a whole) with the input it sees, and returns that bijector's output, or
  `None` for `bijector.inverse(x_in)` (given `conditional_input` when it `takes_context`).
  ActNorm's data-dependent start uses it to initialise each layer on what reaches it.

  Example:
    >>> flow = tfb.Chain([tfb.Shift(1.), tfb.Scale(2.)])  # inverse: subtract 1, then halve
    >>> seen = []
    >>> def visit(bijector, x):
    ...   seen.append((bijector.name, float(x)))
    ...   return None  # run bijector.inverse(x)
    >>> float(tff.bijectors.walk.push_inverse(flow, tf.constant(6.), visit))
    2.5
    >>> seen
    [('shift', 6.0), ('scale', 5.0)]
  """
  bijector = bijector_of(flow)
  if is_chain(bijector):
    for inner in bijector.bijectors:
      x = push_inverse(inner, x, visit, conditional_input)
    return x
  if isinstance(bijector, factor_out.FactorOut):
    factored, rest = bijector.split(x)
    return bijector.merge(factored,
                          push_inverse(bijector.bijector, rest, visit, conditional_input))
  out = visit(bijector, x)
  if out is not None:
    return out
  if conditional_input is not None and takes_context(bijector):
    return bijector.inverse(x, conditional_input=conditional_input)
  return bijector.inverse(x)


def nested_kwargs(flow, kwargs_of):
  """The `bijector_kwargs` of `flow` that give each leaf `kwargs_of(leaf)` (a dict).

  Chains pass kwargs on by bijector name, `tfb.Invert` and `FactorOut` pass them on as they
  are; leaves for which `kwargs_of` returns an empty dict get nothing. Use it as
  `dist.log_prob(x, bijector_kwargs=nested_kwargs(dist, fn))`.

  Example:
    >>> dist = tff.models.maf(2, num_layers=2, hidden_units=[4], conditional_event_shape=[1])
    >>> c = tf.ones([3, 1])
    >>> kwargs = tff.bijectors.walk.nested_kwargs(
    ...     dist, lambda leaf: {"conditional_input": c}
    ...     if tff.bijectors.walk.takes_context(leaf) else {})
    >>> sorted(kwargs)
    ['maf_0', 'maf_1']
    >>> dist.log_prob(tf.zeros([3, 2]), bijector_kwargs=kwargs).shape
    TensorShape([3])
  """
  bijector = bijector_of(flow)
  if is_chain(bijector):
    kwargs = {}
    for inner in bijector.bijectors:
      inner_kwargs = nested_kwargs(inner, kwargs_of)
      if inner_kwargs:
        if inner.name in kwargs:
          raise ValueError(f"Expected distinct names in the chain {bijector.name!r} to pass "
                           f"it kwargs. Received: two bijectors named {inner.name!r}")
        kwargs[inner.name] = inner_kwargs
    return kwargs
  inner = children(bijector)
  if inner:
    return nested_kwargs(inner[0], kwargs_of)
  return dict(kwargs_of(bijector) or {})


__all__ = ["bijector_of", "children", "is_chain", "is_invert", "leaves", "nested_kwargs",
           "push_inverse", "takes_context"]
