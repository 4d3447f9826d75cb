"""The distribution every builder returns: a `tfd.TransformedDistribution` whose `sample`
takes a temperature."""

import tensorflow as tf
from tensorflow_probability.python.distributions import transformed_distribution


class FlowDistribution(transformed_distribution._TransformedDistribution):  # pylint: disable=protected-access
  """`tfd.TransformedDistribution` with `sample(n, temperature=T)`.

  `x = f(m + T (z - m))`, `z ~ base`, `m = base.mean()`: the base sample is pulled towards
  the base's mean before the bijector maps it to data. For a standard normal base that is
  `z ~ N(0, T^2 I)`, the reduced-temperature sampling of Glow (section 5); `T = 1` is the
  model itself, `T < 1` trades diversity for typical-looking samples. Everything else
  (`log_prob`, shapes, `bijector_kwargs`, variables) is `tfd.TransformedDistribution`'s.

  The base class is the one `tfd.TransformedDistribution(d, b)` itself returns when `b` is
  not a `CompositeTensor` (tfp_flows bijectors hold Keras networks, so they are not): a
  composite distribution would hide its bijector's variables from any distribution built
  on top of it (`tfd.TransformedDistribution(flow, tfb.Shift(v)).trainable_variables`
  would list only `v`). So `isinstance(flow, tfd.TransformedDistribution)` is False, as
  for TFP's own non-composite transformed distributions; test `isinstance(flow,
  tff.distributions.FlowDistribution)` or `hasattr(flow, "bijector")` instead.
  """

  def _call_sample_n(self, sample_shape, seed, temperature=1.0, **kwargs):
    if isinstance(temperature, (int, float)) and temperature < 0:
      raise ValueError(f"Expected temperature >= 0. Received: temperature={temperature!r}")
    distribution_kwargs, bijector_kwargs = self._kwargs_split_fn(kwargs)
    base = self._maybe_broadcast_distribution_batch_shape()
    z = base.sample(sample_shape, seed=seed, **distribution_kwargs)
    if not (isinstance(temperature, (int, float)) and temperature == 1):
      mean = base.mean()
      z = mean + tf.cast(temperature, z.dtype) * (z - mean)
    return self.bijector.forward(z, **bijector_kwargs)
