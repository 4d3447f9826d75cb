"""Uniform dequantization: integer levels <-> [0, 1), the first layer of every image flow."""

import math

import tensorflow as tf
import tensorflow_probability as tfp

from tfp_flows.bijectors import _checks

tfb = tfp.bijectors

_DTYPES = (tf.float32, tf.float64)
_NUDGES = 3  # ulp steps that put every x_tilde strictly inside its bin (2 always suffice).


class UniformDequantization(tfb.Bijector):
  """`inverse(x) = (x + u) / K`, `u ~ U[0, 1)^D`; `forward(z) = clip(floor(K z), 0, K - 1)`.

  Not a bijection but a surjection (SurVAE flows): `forward` maps each bin
  `[x / K, (x + 1) / K)` onto the level `x`, and `inverse` draws a random point of the bin
  of each level, with fresh noise at every call. The log-dets are the constants
  `ildj = -log K` and `fldj = +log K` per element (the density `K^D` of `x_tilde` given
  `x`), summed over the event by TFP. So for integer data `x in {0, ..., K-1}^D` (held in a
  float tensor) and a continuous flow `p` on [0, 1)^D,

      dist = tfd.TransformedDistribution(p, UniformDequantization(K))
      dist.log_prob(x) = log p(x_tilde) - D log K,    x_tilde = inverse(x),

  a one-sample estimate of the dequantization lower bound
  `E_u[log p(x_tilde)] - D log K <= log P(x)`. Hence
  `tff.metrics.bits_per_dim(dist.log_prob(x), event_shape)` (no `num_bins`) is bits/dim,
  and equals `bits_per_dim(p.log_prob(x_tilde), event_shape, num_bins=K)` for the same
  `x_tilde`. `dist.sample()` returns integer-valued levels in [0, K - 1] (floats).

  Noise: `inverse(x)` uses `tf.random.uniform`; `inverse(x, seed=s)` (or
  `dist.log_prob(x, bijector_kwargs=dict(seed=s))`) uses TFP's seed convention: a stateless
  seed (int32[2] tensor or pair of ints) gives reproducible noise, a Python int is stateful.
  TFP caches `inverse` by input tensor identity (and kwargs): calling it twice on the very
  same tensor object returns the cached noise (which keeps `log_prob`'s `inverse` and
  log-det consistent); `tf.identity(x)` gets fresh noise. Likewise `log_prob` of the very
  tensor `sample` returned reuses the sampled continuous point instead of drawing noise.
  In a `tfb.Chain` the kwargs go by name: `bijector_kwargs={"uniform_dequantization": ...}`.
  `x_tilde` is kept a few ulps inside its bin, so `forward(inverse(x)) == x` exactly.
  Inputs are float32 or float64 (16-bit floats cannot resolve `(x + u) / 256`).

  Args:
    num_bins: K >= 2, the number of levels (256 for 8-bit images).
    validate_args: with `True`, `inverse` fails with `InvalidArgumentError` unless `x`
      holds integers in [0, K - 1] (eager and in `tf.function`).

  Example:
    >>> deq = tff.bijectors.UniformDequantization(num_bins=4)
    >>> x = tf.constant([0., 1., 3.])
    >>> x_tilde = deq.inverse(x)  # a random point of each level's bin [x/4, (x+1)/4)
    >>> bool(tf.reduce_all((x / 4 <= x_tilde) & (x_tilde < (x + 1) / 4)))
    True
    >>> deq.forward(x_tilde).numpy().tolist()
    [0.0, 1.0, 3.0]
    >>> round(float(deq.inverse_log_det_jacobian(x, event_ndims=1)), 4)  # -3 log 4
    -4.1589

  References:
    Theis, van den Oord, Bethge. A note on the evaluation of generative models. ICLR 2016.
    https://arxiv.org/abs/1511.01844
    Nielsen, Jaini, Hoogeboom, Winther, Welling. SurVAE Flows: Surjections to Bridge the
    Gap between VAEs and Flows. NeurIPS 2020. https://arxiv.org/abs/2007.02731
  """

  def __init__(self, num_bins=256, validate_args=False, name="uniform_dequantization"):
    parameters = dict(locals())
    if isinstance(num_bins, bool) or not isinstance(num_bins, int) or num_bins < 2:
      raise ValueError(f"Expected num_bins to be an int >= 2. Received: num_bins={num_bins!r}")
    self._num_bins = num_bins
    super().__init__(forward_min_event_ndims=0, is_constant_jacobian=True, dtype=None,
                     validate_args=validate_args, parameters=parameters, name=name)

  @property
  def num_bins(self):
    return self._num_bins

  def _forward(self, z, seed=None):
    del seed
    _checks.checked_input(z, _DTYPES, [], False, "z")
    return tf.clip_by_value(tf.floor(z * self._num_bins), 0., self._num_bins - 1.)

  def _inverse(self, x, seed=None):
    x = checked_levels(x, self._num_bins, self.validate_args, self.name)
    if seed is None:
      u = tf.random.uniform(tf.shape(x), dtype=x.dtype)
    else:
      u = tf.random.stateless_uniform(tf.shape(x), tfp.random.sanitize_seed(seed),
                                    dtype=x.dtype, alg="philox")
    return dequantize(x, u, self._num_bins)

  def _inverse_log_det_jacobian(self, x, seed=None):
    del seed
    _checks.checked_input(x, _DTYPES, [], False, "x")
    return tf.constant(-math.log(self._num_bins), x.dtype)

  def _forward_log_det_jacobian(self, z, seed=None):
    del seed
    _checks.checked_input(z, _DTYPES, [], False, "z")
    return tf.constant(math.log(self._num_bins), z.dtype)



def checked_levels(x, num_bins, validate_args, name):
  """`x` (float32/float64 levels); with `validate_args`, asserts integers in [0, K - 1]."""
  _checks.checked_input(x, _DTYPES, [], False, "x")
  if not validate_args:
    return x
  top = num_bins - 1
  in_range = f"Expected x in [0, {top}]. Received: x outside [0, {top}] ({name})."
  assertions = [
      tf.debugging.assert_equal(
          x, tf.floor(x),
          message=f"Expected integer levels in x. Received: non-integer x ({name})."),
      tf.debugging.assert_greater_equal(x, tf.zeros([], x.dtype), message=in_range),
      tf.debugging.assert_less_equal(x, tf.constant(top, x.dtype), message=in_range)]
  with tf.control_dependencies([a for a in assertions if a is not None]):
    return tf.identity(x)


def dequantize(x, u, num_bins):
  """`(x + u) / K` clipped to `[lo, hi]`, the floats `t` of x's dtype with `floor(t K) == x`.

  Without the clip, rounding in `x + u` (u within an ulp of 1) or in `t K` would put a few
  points in the neighbouring bin, breaking `forward(inverse(x)) == x`.
  """
  k = tf.constant(num_bins, x.dtype)
  lo = x / k
  hi = tf.math.nextafter((x + 1.) / k, tf.zeros_like(x))
  for _ in range(_NUDGES):
    lo = tf.where(lo * k < x, tf.math.nextafter(lo, x + 1.), lo)
    hi = tf.where(hi * k >= x + 1., tf.math.nextafter(hi, tf.zeros_like(x)), hi)
  return tf.clip_by_value((x + u) / k, lo, hi)

