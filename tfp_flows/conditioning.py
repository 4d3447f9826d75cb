"""How a context reaches a conditional flow `p(x | c)`: the one place that checks it.

A flow is conditional when some of its bijectors take a `conditional_input` (MAF/IAF with
a conditional MADE, couplings and Glow's learned prior built with `conditional_event_shape`);
they all take the same `[C]`. A context is then either

- a vector `c: [..., C]` (`FlowDistribution.num_classes is None`), or
- a class label `k: [...]`, integers in `[0, K)` (`num_classes=K`, the image builders'
  class-conditional flows), one-hot encoded to `[..., K]` here before any network sees it:
  each network's first (dense or convolutional) layer on the one-hot vector is that
  network's learned label embedding.

`encode` checks a context in the user's terms and returns what the bijectors take;
`bijector_kwargs` builds the nested `bijector_kwargs` that give it (and a dequantization
seed) to every leaf that takes it.
"""

import numpy as np
import tensorflow as tf

from tfp_flows import bijectors


def conditional_event_shape(flow):
  """`[C]` that every conditional bijector of `flow` takes, or `None` (unconditional).

  Raises:
    ValueError: when two bijectors of the flow take contexts of different shapes.

  Example:
    >>> flow = tff.models.maf(2, num_layers=1, hidden_units=[8], conditional_event_shape=[3])
    >>> tff.conditioning.conditional_event_shape(flow)
    [3]
    >>> print(tff.conditioning.conditional_event_shape(tff.models.maf(2, num_layers=1)))
    None
  """
  shapes = {tuple(leaf.conditional_event_shape) for leaf in bijectors.walk.leaves(flow)
            if bijectors.walk.takes_context(leaf)}
  if len(shapes) > 1:
    raise ValueError("Expected the conditional bijectors of a flow to take one context shape. "
                     f"Received: conditional_event_shapes {sorted(shapes)}")
  return list(shapes.pop()) if shapes else None


def context_event_shape(flow):
  """The trailing shape of a context as the *user* passes it: `[]` for labels, `[C]` for
  vectors, `None` for an unconditional flow.

  Example:
    >>> labels = tff.models.glow([4, 4, 1], levels=1, depth=1, hidden_channels=4, num_bins=4,
    ...                          num_classes=3)
    >>> tff.conditioning.context_event_shape(labels)  # the user passes scalar labels,
    []
    >>> tff.conditioning.conditional_event_shape(labels)  # the bijectors take one-hot vectors
    [3]
  """
  shape = conditional_event_shape(flow)
  if shape is None:
    return None
  return [] if getattr(flow, "num_classes", None) else shape


def encode(flow, context, dtype):
  """`context` checked against `flow` and made ready for its bijectors.

  Args:
    flow: a `FlowDistribution` (or any distribution with a bijector).
    context: the user's context: `None`, a vector `[..., C]` or labels `[...]`.
    dtype: the flow's float dtype.

  Returns:
    `None` for `context=None` on an unconditional flow, else a `[..., C]` tensor of `dtype`
    (labels one-hot encoded to `[..., K]`).

  Raises:
    ValueError: a context for an unconditional flow, none for a conditional one, a context
      of the wrong event shape or dtype, or (eagerly) a label outside `[0, K)`.

  Example:
    >>> flow = tff.models.glow([4, 4, 1], levels=1, depth=1, hidden_channels=4, num_bins=4,
    ...                        num_classes=3)
    >>> tff.conditioning.encode(flow, [0, 2], tf.float32).numpy()  # labels, one-hot encoded
    array([[1., 0., 0.], [0., 0., 1.]], dtype=float32)
    >>> tff.conditioning.encode(flow, [3], tf.float32)
    Traceback (most recent call last):
    ValueError: Expected class labels in [0, 3) (num_classes=3). Received: context holding 3
  """
  shape = conditional_event_shape(flow)
  num_classes = getattr(flow, "num_classes", None)
  if shape is None:
    if context is not None:
      raise ValueError(f"Expected no context: the flow {flow.name!r} is unconditional (built "
                       "without conditional_event_shape or num_classes). Received: a context "
                       f"of shape {_shape_of(context)}")
    return None
  if context is None:
    wanted = f"num_classes={num_classes}: a label" if num_classes else f"a context [..., {shape[0]}]"
    raise ValueError(f"Expected a context for the conditional flow {flow.name!r} ({wanted}). "
                     "Received: context=None")
  if num_classes:
    return _one_hot(context, num_classes, dtype)
  context = tf.convert_to_tensor(context)
  if not context.dtype.is_floating and not context.dtype.is_integer:
    raise ValueError(f"Expected a real-valued context. Received: context.dtype={context.dtype.name}")
  if context.shape.rank is not None and (context.shape.rank < 1 or not
                                         context.shape[-1:].is_compatible_with(shape)):
    raise ValueError(f"Expected a context of shape [..., {shape[0]}] for the flow {flow.name!r}. "
                     f"Received: context.shape={context.shape}")
  return tf.cast(context, dtype)


def _one_hot(labels, num_classes, dtype):
  """Labels `[...]` (ints, or floats holding integers) as one-hot `[..., K]` of `dtype`."""
  if not tf.is_tensor(labels):
    values = np.asarray(labels)
    if not (np.issubdtype(values.dtype, np.integer) or np.issubdtype(values.dtype, np.floating)):
      raise ValueError(f"Expected integer class labels. Received: context of dtype {values.dtype}")
    if values.size and (not np.all(values == np.round(values)) or values.min() < 0
                        or values.max() >= num_classes):
      bad = values[(values != np.round(values)) | (values < 0) | (values >= num_classes)]
      raise ValueError(f"Expected class labels in [0, {num_classes}) (num_classes={num_classes})."
                       f" Received: context holding {bad.reshape(-1)[0].item()!r}")
    labels = tf.constant(values.astype(np.int32))
  labels = tf.convert_to_tensor(labels)
  if not (labels.dtype.is_integer or labels.dtype.is_floating):
    raise ValueError(f"Expected integer class labels. Received: context.dtype={labels.dtype.name}")
  message = (f"Expected class labels in [0, {num_classes}) (num_classes={num_classes}). "
             "Received: a label outside it, or not an integer")
  as_int = tf.cast(labels, tf.int32)
  checks = [tf.debugging.assert_non_negative(as_int, message=message),
            tf.debugging.assert_less(as_int, num_classes, message=message)]
  if labels.dtype.is_floating:
    checks.append(tf.debugging.assert_equal(labels, tf.cast(as_int, labels.dtype), message=message))
  with tf.control_dependencies(checks):
    return tf.one_hot(as_int, num_classes, dtype=dtype)


def broadcast_to_batch(context, batch_shape, x_shape, labels=False):
  """`context: [..., C]` broadcast to `batch_shape + [C]` (`batch_shape`: x's, a tensor).

  Raises:
    ValueError: when the static batch shapes cannot broadcast to x's (`labels`: the
      context was class labels, which the message then says).

  Example:
    >>> context = tf.constant([1., 2.])  # one context for a batch of 3 examples
    >>> tff.conditioning.broadcast_to_batch(context, tf.constant([3]), [3]).shape
    TensorShape([3, 2])
  """
  static_batch = context.shape[:-1]
  x_batch = tf.TensorShape(x_shape)
  if static_batch.is_fully_defined() and x_batch.is_fully_defined():
    try:
      merged = tf.broadcast_static_shape(static_batch, x_batch)
    except ValueError:
      merged = None
    if merged != x_batch:
      what = "class label" if labels else "context"
      raise ValueError(
          f"Expected one {what} per example (batch shape {x_batch.as_list()}) or one for "
          f"all. Received: {what}s of batch shape {static_batch.as_list()}")
  return tf.broadcast_to(context, tf.concat([batch_shape, tf.shape(context)[-1:]], 0))


def bijector_kwargs(flow, conditional_input=None, seed=None):
  """`bijector_kwargs` that reach every leaf of `flow` that takes them.

  `conditional_input` (what the bijectors take: `encode`'s output) goes to every
  conditional leaf, `seed` to the dequantization (a stateless seed makes its noise
  reproducible).

  Example:
    >>> flow = tff.models.maf(2, num_layers=2, hidden_units=[8], conditional_event_shape=[1])
    >>> c = tf.ones([3, 1])
    >>> kwargs = tff.conditioning.bijector_kwargs(flow, conditional_input=c)
    >>> kwargs["maf_0"]["conditional_input"] is c, sorted(kwargs)
    (True, ['maf_0', 'maf_1'])
    >>> tff.conditioning.bijector_kwargs(flow, seed=[1, 2])  # no dequantization to seed
    {}
  """
  def kwargs_of(bijector):
    kwargs = {}
    if conditional_input is not None and bijectors.walk.takes_context(bijector):
      kwargs["conditional_input"] = conditional_input
    if seed is not None and isinstance(bijector, (bijectors.UniformDequantization,
                                                  bijectors.VariationalDequantization)):
      kwargs["seed"] = seed
    return kwargs

  return bijectors.walk.nested_kwargs(flow, kwargs_of)


def has_dequantization(flow):
  """Whether `flow` has a dequantization layer, which a `seed` reaches (`bijector_kwargs`).

  Example:
    >>> tff.conditioning.has_dequantization(tff.models.glow([4, 4, 1], levels=1, depth=1,
    ...                                                     hidden_channels=4, num_bins=4))
    True
    >>> tff.conditioning.has_dequantization(tff.models.maf(2, num_layers=1, hidden_units=[4]))
    False
  """
  return bool(bijector_kwargs(flow, seed=[0, 0]))


def _shape_of(value):
  shape = getattr(value, "shape", None)
  return list(np.shape(value)) if shape is None else tf.TensorShape(shape).as_list()


__all__ = ["bijector_kwargs", "broadcast_to_batch", "conditional_event_shape",
           "context_event_shape", "encode", "has_dequantization"]


def __dir__():  # `dir(module)` lists the public names, not the imports (np, tf, ...).
  return __all__
