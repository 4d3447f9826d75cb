"""The distribution every builder returns: a `tfd.TransformedDistribution` whose samples
take a temperature."""

import numpy as np
import tensorflow as tf

from tfp_flows import _tfp_private
from tfp_flows import conditioning
from tfp_flows.bijectors import _checks

_SAMPLE_KWARGS = ("bijector_kwargs", "distribution_kwargs")


class FlowDistribution(_tfp_private.TransformedDistribution):
  """`tfd.TransformedDistribution` with `sample(n, temperature=T)`.

  `x = f(m + T (z - m))`, `z ~ base`, `m = base.mean()`: the base sample is pulled towards
  the base's mean before the bijector maps it to data. For a standard normal base that is
  `z ~ N(0, T^2 I)`, the reduced-temperature sampling of Glow (section 5); `T = 1` is the
  model itself, `T < 1` trades diversity for typical-looking samples.
  `experimental_sample_and_log_prob(n, temperature=T)` returns such samples with their
  log-density under the model (not under the tempered sampler). With `validate_args=True`,
  `log_prob` raises `InvalidArgumentError` for an example whose log-density is not finite
  (e.g. a point so far out that float arithmetic gives -inf). Everything else
  (`log_prob`, shapes, `bijector_kwargs`, variables) is `tfd.TransformedDistribution`'s.

  Conditional flows: `log_prob(x, context=c)`, `sample(n, context=c)` (see
  `tff.conditioning` and `FlowModel.sample` for the shapes); `log_prob(x, seed=s)` seeds a
  dequantization's noise (a stateless seed: the same `s`, the same bound).

  `recipe` is the builder and arguments that made this flow (`tff.models`), or `None`;
  `FlowModel.save` stores it. `num_classes` is `K` for a class-conditional flow.

  The base class is the one `tfd.TransformedDistribution(d, b)` itself returns when `b` is
  not a `CompositeTensor` (tfp_flows bijectors hold Keras networks, so they are not): a
  composite distribution would hide its bijector's variables from any distribution built
  on top of it (`tfd.TransformedDistribution(flow, tfb.Shift(v)).trainable_variables`
  would list only `v`). So `isinstance(flow, tfd.TransformedDistribution)` is False, as
  for TFP's own non-composite transformed distributions; test `isinstance(flow,
  tff.distributions.FlowDistribution)` or `hasattr(flow, "bijector")` instead.

  Example:
    >>> flow = tff.models.maf(2, num_layers=1, hidden_units=[8])
    >>> isinstance(flow, tff.distributions.FlowDistribution)
    True
    >>> # Temperature T pulls the base sample to the base's mean: z ~ N(0, T^2 I).
    >>> samples = flow.sample(3, temperature=0.)
    >>> bool(np.allclose(samples, flow.bijector.forward(tf.zeros([3, 2]))))
    True
    >>> x, log_prob = flow.experimental_sample_and_log_prob(4, temperature=0.7)
    >>> bool(np.allclose(log_prob, flow.log_prob(x), atol=1e-5))  # under the model itself
    True
  """

  recipe = None
  num_classes = None  # K for a class-conditional flow: its context is a label in [0, K).

  @property
  def conditional_event_shape(self):
    """`[C]` of the context the flow's bijectors take (`[K]`, one-hot, for labels), or
    `None` for an unconditional flow."""
    return conditioning.conditional_event_shape(self)

  def _log_prob(self, x, context=None, seed=None, **kwargs):
    # The data's shape in the user's terms (the flow's event shape), before any bijector
    # would name an internal, squeezed one.
    _checks.checked_input(x, x.dtype, self.event_shape, False, "x")
    kwargs = self._with_context(context, seed, kwargs, x)
    log_prob = super()._log_prob(x, **kwargs)
    if not self.validate_args:
      return log_prob
    return tf.debugging.assert_all_finite(
        log_prob, "Expected a finite log-density. Received: an example whose log-density is "
        "not finite (it maps so far into the base's tails that it underflows, or it is not "
        "finite itself)")

  def log_prob_per_class(self, x, seed=None):
    """`log p(x | k)` for every class `k` of a class-conditional flow: `[N, K]` for
    `x: [N, *event_shape]`. Every class sees the same dequantization noise (one `seed`, a
    stateless seed drawn when `None`), so `argmax_k` compares like with like."""
    if not self.num_classes:
      raise ValueError(f"Expected a class-conditional flow (built with num_classes). "
                       f"Received: the flow {self.name!r}, num_classes=None")
    x = tf.convert_to_tensor(x, self.dtype)
    if seed is None and conditioning.has_dequantization(self):
      seed = tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int32)
    return tf.stack([self.log_prob(x, context=k, seed=seed) for k in range(self.num_classes)],
                    axis=-1)

  def _takes_tfp_route(self, context, seed, kwargs):
    """True when the caller built the `bijector_kwargs` themselves (TFP's own route) and
    gave no context or seed; raises when they gave both."""
    if not kwargs.get("bijector_kwargs"):
      return False
    if context is not None or seed is not None:
      given = ", ".join(name for name, value in (("context", context), ("seed", seed))
                        if value is not None)
      raise ValueError(f"Expected a context or seed, or bijector_kwargs, not both. "
                       f"Received: bijector_kwargs and {given}")
    return True

  def _with_context(self, context, seed, kwargs, x):
    """`kwargs` with the `bijector_kwargs` of the context (broadcast to x's batch shape)
    and of the dequantization `seed`; checks that a conditional flow gets a context (and
    only then), and that a seed has a dequantization to go to."""
    if self._takes_tfp_route(context, seed, kwargs):
      return kwargs
    encoded = conditioning.encode(self, context, self.dtype)
    if encoded is None and seed is None:
      return kwargs
    if encoded is not None:
      event_rank = self.event_shape.rank
      x_batch = x.shape[:x.shape.rank - event_rank] if x.shape.rank is not None else None
      encoded = conditioning.broadcast_to_batch(
          encoded, tf.shape(x)[:tf.rank(x) - event_rank], x_batch, bool(self.num_classes))
    bijector_kwargs = conditioning.bijector_kwargs(self, encoded, seed)
    if seed is not None and not conditioning.has_dequantization(self):
      raise ValueError(f"Expected seed only for a flow with a dequantization (whose noise "
                       f"it seeds). Received: seed={seed!r} for the flow {self.name!r}")
    return dict(kwargs, bijector_kwargs=bijector_kwargs)

  def _tempered_base_sample(self, sample_shape, seed, temperature, kwargs, with_log_prob):
    unknown = sorted(set(kwargs) - set(_SAMPLE_KWARGS))
    if unknown:
      raise TypeError(f"Expected keyword arguments among temperature, seed, context, "
                      f"{', '.join(_SAMPLE_KWARGS)}. Received: {', '.join(unknown)}")
    temperature = _checked_temperature(temperature)
    distribution_kwargs, bijector_kwargs = self._kwargs_split_fn(kwargs)
    base = self._maybe_broadcast_distribution_batch_shape()
    z = base.sample(sample_shape, seed=seed, **distribution_kwargs)
    if not (isinstance(temperature, float) and temperature == 1.):
      mean = base.mean()
      z = mean + tf.cast(temperature, z.dtype) * (z - mean)
    log_prob = base.log_prob(z, **distribution_kwargs) if with_log_prob else None
    return z, log_prob, bijector_kwargs

  def _sample_with_context(self, sample_shape, seed, temperature, context, kwargs,
                           with_log_prob):
    """`(x, log p(x) or None)` of shape `sample_shape + context batch shape + event`.

    With a batch of contexts `[M, C]` (labels `[M]`), `sample(n)` draws `n` for each:
    `[n, M, *event]`. The draws run flat (`[n * M, *event]`, the context tiled) and are
    reshaped back, so every bijector sees a plain batch.
    """
    encoded = (None if self._takes_tfp_route(context, None, kwargs)
               else conditioning.encode(self, context, self.dtype))
    if encoded is None:
      z, base_log_prob, bijector_kwargs = self._tempered_base_sample(
          sample_shape, seed, temperature, kwargs, with_log_prob)
      return self._push(z, base_log_prob, bijector_kwargs, with_log_prob)
    sample_shape = tf.cast(tf.reshape(sample_shape, [-1]), tf.int32)
    static_shape = _static_shape(sample_shape).concatenate(encoded.shape[:-1])
    shape = tf.concat([sample_shape, tf.shape(encoded)[:-1]], 0)
    flat = tf.reduce_prod(shape)[tf.newaxis]
    z, base_log_prob, _ = self._tempered_base_sample(flat, seed, temperature, kwargs,
                                                     with_log_prob)
    size = encoded.shape[-1]
    tiled = tf.reshape(tf.broadcast_to(encoded, tf.concat([shape, [size]], 0)), [-1, size])
    x, log_prob = self._push(z, base_log_prob, conditioning.bijector_kwargs(self, tiled),
                             with_log_prob)
    x = tf.reshape(x, tf.concat([shape, self.event_shape_tensor()], 0))
    x.set_shape(static_shape.concatenate(self.event_shape))
    if log_prob is not None:
      log_prob = tf.reshape(log_prob, shape)
      log_prob.set_shape(static_shape)
    return x, log_prob

  def _push(self, z, base_log_prob, bijector_kwargs, with_log_prob):
    x = self.bijector.forward(z, **bijector_kwargs)
    if not with_log_prob:
      return x, None
    fldj = self.bijector.forward_log_det_jacobian(
        z, event_ndims=self.distribution.event_shape.rank, **bijector_kwargs)
    return x, base_log_prob - tf.cast(fldj, base_log_prob.dtype)

  def _call_sample_n(self, sample_shape, seed, temperature=1.0, context=None, **kwargs):
    return self._sample_with_context(sample_shape, seed, temperature, context, kwargs,
                                     with_log_prob=False)[0]

  def _sample_and_log_prob(self, sample_shape, seed, temperature=1.0, context=None,
                           **kwargs):
    return self._sample_with_context(sample_shape, seed, temperature, context, kwargs,
                                     with_log_prob=True)


def _static_shape(shape_tensor):
  value = tf.get_static_value(shape_tensor)
  return tf.TensorShape(None if value is None else [int(d) for d in value])


def _checked_temperature(temperature):
  """A Python float >= 0 (from any real scalar), or a tensor asserted to be >= 0."""
  if tf.is_tensor(temperature):
    check = tf.debugging.assert_greater_equal(
        temperature, tf.zeros([], temperature.dtype),
        message="Expected temperature >= 0. Received: a negative or NaN temperature")
    with tf.control_dependencies([check]):
      return tf.identity(temperature)
  value = np.asarray(temperature)
  if value.ndim or not np.issubdtype(value.dtype, np.number) or not value >= 0:
    raise ValueError(f"Expected temperature to be a number >= 0. "
                     f"Received: temperature={temperature!r}")
  return float(value)


__all__ = ["FlowDistribution"]


def __dir__():  # `dir(module)` lists the public names, not the imports (np, tf, ...).
  return __all__
