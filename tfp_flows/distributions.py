"""The distribution every builder returns: a `tfd.TransformedDistribution` whose samples
take a temperature."""

import numpy as np
import tensorflow as tf

from tfp_flows import _tfp_private
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

  `recipe` is the builder and arguments that made this flow (`tff.models`), or `None`;
  `FlowModel.save` stores it.

  The base class is the one `tfd.TransformedDistribution(d, b)` itself returns when `b` is
  not a `CompositeTensor` (tfp_flows bijectors hold Keras networks, so they are not): a
  composite distribution would hide its bijector's variables from any distribution built
  on top of it (`tfd.TransformedDistribution(flow, tfb.Shift(v)).trainable_variables`
  would list only `v`). So `isinstance(flow, tfd.TransformedDistribution)` is False, as
  for TFP's own non-composite transformed distributions; test `isinstance(flow,
  tff.distributions.FlowDistribution)` or `hasattr(flow, "bijector")` instead.
  """

  recipe = None

  def _log_prob(self, x, **kwargs):
    # The data's shape in the user's terms (the flow's event shape), before any bijector
    # would name an internal, squeezed one.
    _checks.checked_input(x, x.dtype, self.event_shape, False, "x")
    log_prob = super()._log_prob(x, **kwargs)
    if not self.validate_args:
      return log_prob
    return tf.debugging.assert_all_finite(
        log_prob, "Expected a finite log-density. Received: an example whose log-density is "
        "not finite (it maps so far into the base's tails that it underflows, or it is not "
        "finite itself)")

  def _tempered_base_sample(self, sample_shape, seed, temperature, kwargs, with_log_prob):
    unknown = sorted(set(kwargs) - set(_SAMPLE_KWARGS))
    if unknown:
      raise TypeError(f"Expected keyword arguments among temperature, seed, "
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

  def _call_sample_n(self, sample_shape, seed, temperature=1.0, **kwargs):
    z, _, bijector_kwargs = self._tempered_base_sample(sample_shape, seed, temperature,
                                                       kwargs, with_log_prob=False)
    return self.bijector.forward(z, **bijector_kwargs)

  def _sample_and_log_prob(self, sample_shape, seed, temperature=1.0, **kwargs):
    z, base_log_prob, bijector_kwargs = self._tempered_base_sample(
        sample_shape, seed, temperature, kwargs, with_log_prob=True)
    x = self.bijector.forward(z, **bijector_kwargs)
    fldj = self.bijector.forward_log_det_jacobian(
        z, event_ndims=self.distribution.event_shape.rank, **bijector_kwargs)
    return x, base_log_prob - tf.cast(fldj, base_log_prob.dtype)


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
