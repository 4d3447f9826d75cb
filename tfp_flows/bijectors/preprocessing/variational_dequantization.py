"""Variational dequantization (Flow++): the noise inside each bin is learned, `u ~ q(u | x)`."""

import math

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_flows import transformers
from tfp_flows.bijectors import _checks
from tfp_flows.bijectors import _one_pass
from tfp_flows.bijectors.coupling import coupling
from tfp_flows.bijectors.preprocessing import uniform_dequantization

tfd = tfp.distributions


class VariationalDequantization(_one_pass.OnePassBijector):
  """`inverse(x) = (x + u) / K` with `u ~ q(u | x)`; `forward(z) = clip(floor(K z), 0, K - 1)`.

  A surjection like `UniformDequantization`, whose noise is a small conditional flow:
  `u = sigmoid(g(e; x))`, `e ~ Logistic(0, 1)^D`, with `g` a stack of spline couplings
  whose networks see the integer image `x` (scaled to [-1/2, 1/2]) as a context. Then
  `log q(u | x) = log p(e) - log|dg/de| - sum log sigmoid'(g)`, and the inverse's log-det
  is `ildj = -log q(u | x) - D log K`, so for a continuous flow `p` on [0, 1)^D,

      dist = tfd.TransformedDistribution(p, VariationalDequantization(K, shape))
      dist.log_prob(x) = log p(x_tilde) - log q(u | x) - D log K,

  a one-sample estimate of the variational bound `E_q[log p(x_tilde) - log q(u|x)] - D log K
  <= log P(x)` (Ho et al. 2019, eq. 12; it is tight when q is the posterior of the noise).
  Training `q` with `p` raises the bound; `bits_per_dim(log_prob, event_shape)` uses it.
  The couplings' networks start at zero output, so `g` starts as the identity, `u` is
  uniform and the bijector is `UniformDequantization` exactly (`log q = 0`). The value and
  its log-det come from one draw (TFP's bijector cache keeps them together); `seed`
  (`bijector_kwargs={name: {"seed": s}}`, a stateless seed) makes the noise reproducible.
  `forward` maps a sample's continuous point to its level, with the constant log-det
  `D log K` of the uniform case (the samples' log-density is then the bound without q).

  Args:
    num_bins: K >= 2, the number of levels.
    event_shape: `[H, W, C]` of the images.
    num_layers: couplings of the noise flow (Flow++: 4), checkerboard masks of
      alternating parity.
    checkerboard: what their networks see: "masked" (Flow++'s), the masked noise `m * e`,
      `[H, W, C]`; "packed", each row's copied pixels packed into `[H, W/2, C]` (the image
      context packed the same way), half the work; W must be even. The same pixels either
      way, but different networks.
    hidden_channels, num_blocks: size of each coupling's conv ResNet.
    num_spline_bins: bins of each coupling's spline (on [-5, 5]).
    dtype: float dtype of the networks.

  Example:
    >>> deq = tff.bijectors.VariationalDequantization(4, [2, 2, 1], num_layers=1,
    ...                                               hidden_channels=4)
    >>> x = tf.constant([[[[0.], [1.]], [[2.], [3.]]]])
    >>> x_tilde = deq.inverse(x)
    >>> bool(tf.reduce_all((x / 4 <= x_tilde) & (x_tilde < (x + 1) / 4)))
    True
    >>> bool(tf.reduce_all(deq.forward(x_tilde) == x))
    True
    >>> # At the start q(u | x) is uniform: the log-det is -D log K.
    >>> bool(np.allclose(deq.inverse_log_det_jacobian(x, event_ndims=3), -4 * np.log(4.),
    ...                  atol=1e-4))
    True

  References:
    Ho, Chen, Srinivas, Duan, Abbeel. Flow++: Improving Flow-Based Generative Models with
    Variational Dequantization and Architecture Design. ICML 2019.
    https://arxiv.org/abs/1902.00275
  """

  def __init__(self, num_bins, event_shape, num_layers=4, hidden_channels=32, num_blocks=1,
               num_spline_bins=8, checkerboard="masked", dtype=tf.float32,
               validate_args=False, name="variational_dequantization"):
    parameters = dict(locals())
    if isinstance(num_bins, bool) or not isinstance(num_bins, (int, np.integer)) or num_bins < 2:
      raise ValueError(f"Expected num_bins to be an int >= 2. Received: num_bins={num_bins!r}")
    if (isinstance(num_layers, bool) or not isinstance(num_layers, (int, np.integer))
        or num_layers < 1):
      raise ValueError(f"Expected num_layers to be an int >= 1. Received: num_layers={num_layers!r}")
    self._num_bins = int(num_bins)
    self._event_shape = [int(d) for d in np.reshape(event_shape, [-1])]
    if len(self._event_shape) != 3 or min(self._event_shape) < 1:
      raise ValueError(f"Expected event_shape [H, W, C]. Received: event_shape={event_shape!r}")
    if (isinstance(num_spline_bins, bool) or not isinstance(num_spline_bins, (int, np.integer))
        or num_spline_bins < 1):
      raise ValueError("Expected num_spline_bins to be an int >= 1. Received: "
                       f"num_spline_bins={num_spline_bins!r}")
    mask = coupling.checkerboard_mask(checkerboard)
    if mask == "packed_checkerboard" and self._event_shape[1] % 2:
      raise ValueError(f"Expected an even image width for checkerboard='packed' (each row "
                       f"packs half its pixels). Received: event_shape={event_shape!r}")
    self._input_dtype = tf.as_dtype(dtype)
    spline = transformers.RationalQuadraticSpline(int(num_spline_bins))  # On [-5, 5].
    with tf.name_scope(name) as scope:
      self._noise_flow = [
          coupling.Coupling(self._event_shape, mask, parity=i % 2, network="resnet",
                            transform=spline, conditional_event_shape=self._event_shape,
                            hidden_channels=hidden_channels, num_blocks=num_blocks,
                            dtype=self._input_dtype, name=f"{name}_noise_{i}")
          for i in range(num_layers)]
      super().__init__(forward_min_event_ndims=3, dtype=None, validate_args=validate_args,
                       parameters=parameters, name=scope)

  @property
  def num_bins(self):
    return self._num_bins

  @property
  def noise_flow(self):
    """The couplings of `g`, applied in order (each by its closed-form `inverse`)."""
    return list(self._noise_flow)

  def _forward_and_log_det(self, z, seed=None):
    del seed
    z = _checks.checked_input(z, self._input_dtype, self._event_shape, self.validate_args, "z")
    x = tf.clip_by_value(tf.floor(z * self._num_bins), 0., self._num_bins - 1.)
    log_det = tf.fill(tf.shape(z)[:-3], tf.constant(self._log_bins(), z.dtype))
    return x, log_det

  def _inverse_and_log_det(self, x, seed=None):
    _checks.checked_input(x, self._input_dtype, self._event_shape, False, "x")
    x = uniform_dequantization.checked_levels(x, self._num_bins, self.validate_args, self.name)
    u, log_q = self.sample_noise(x, seed)
    x_tilde = uniform_dequantization.dequantize(x, u, self._num_bins)
    return x_tilde, -log_q - self._log_bins()

  def sample_noise(self, x, seed=None):
    """`(u, log q(u | x))`: noise `[..., H, W, C]` in (0, 1) and its log-density `[...]`."""
    x = tf.convert_to_tensor(x, self._input_dtype)
    shape = tf.shape(x)
    if seed is None:
      uniform = tf.random.uniform(shape, dtype=x.dtype)
    else:
      # Philox named: the default algorithm differs under XLA, and so would the noise.
      uniform = tf.random.stateless_uniform(shape, tfp.random.sanitize_seed(seed),
                                            dtype=x.dtype, alg="philox")
    tiny = np.finfo(x.dtype.as_numpy_dtype).tiny
    uniform = tf.clip_by_value(uniform, tiny, 1. - tiny)
    return self.noise(tf.math.log(uniform) - tf.math.log1p(-uniform), x)

  def noise(self, e, x):
    """`(u, log q(u | x))` for the base draw `e ~ Logistic(0, 1)` of the shape of `x`:
    `u = sigmoid(g(e; x))`, `log q = log p(e) - log|dg/de| - sum log sigmoid'(g(e; x))`."""
    x = tf.convert_to_tensor(x, self._input_dtype)
    e = tf.convert_to_tensor(e, self._input_dtype)
    context = x / (self._num_bins - 1.) - 0.5
    v, log_det = e, tf.zeros(tf.shape(x)[:-3], x.dtype)
    for layer in self._noise_flow:  # One pass each: the log-det comes from TFP's cache.
      next_v = layer.inverse(v, conditional_input=context)
      log_det += layer.inverse_log_det_jacobian(v, event_ndims=3, conditional_input=context)
      v = next_v
    log_sigmoid_slope = lambda t: -tf.math.softplus(-t) - tf.math.softplus(t)
    axes = [-3, -2, -1]
    log_q = (tf.reduce_sum(log_sigmoid_slope(e), axes) - log_det
             - tf.reduce_sum(log_sigmoid_slope(v), axes))
    return tf.math.sigmoid(v), log_q

  def _log_bins(self):
    return float(np.prod(self._event_shape)) * math.log(self._num_bins)
