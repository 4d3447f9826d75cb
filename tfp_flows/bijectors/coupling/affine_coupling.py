"""RealNVP/Glow affine coupling (and NICE's additive one): the affine case of `Coupling`."""

import tensorflow as tf

from tfp_flows.bijectors.coupling import coupling


class AffineCoupling(coupling.Coupling):
  """`z = m * x + (1 - m) * (x + t(m x)) * s(m x)` (inverse), `log|det dz/dx| = sum log s`.

  `Coupling(..., transform="affine")`: the scale is Glow's bounded `s = sigmoid(raw + 2)`,
  in (0, 1), equal to 0.88 at a zero network output. As in Glow, the data-to-latent
  direction (TFP's `inverse`, the one training runs) multiplies by `s`, so it can only
  contract and its log-det is bounded above by 0: the likelihood cannot grow without bound
  by shrinking `s`. Sampling (`forward`) is `x = z / s - t` on the transformed part. With
  `shift_only=True` (NICE's additive coupling) `s = 1` and the log-det is 0.

  Args: as `Coupling`, with `shift_only` instead of `transform`; the network outputs 2
  numbers per transformed element (shift, raw scale), 1 with `shift_only`.

  Example:
    >>> layer = tff.bijectors.AffineCoupling([4, 4, 2], mask="checkerboard", hidden_channels=4,
    ...                                      num_blocks=1)
    >>> x = tf.random.normal([3, 4, 4, 2])
    >>> z = layer.inverse(x)
    >>> bool(np.allclose(layer.forward(z), x, atol=1e-5))
    True
    >>> ildj = layer.inverse_log_det_jacobian(x, event_ndims=3)
    >>> # A zero network output: half the 32 elements are scaled by sigmoid(2).
    >>> bool(np.allclose(ildj, 16 * np.log(1 / (1 + np.exp(-2.))), atol=1e-4))
    True

  References:
    Dinh, Sohl-Dickstein, Bengio. Density estimation using Real NVP. ICLR 2017.
    https://arxiv.org/abs/1605.08803
    Kingma, Dhariwal. Glow: Generative Flow with Invertible 1x1 Convolutions. NeurIPS 2018.
    https://arxiv.org/abs/1807.03039
  """

  def __init__(self, event_shape, mask="half", parity=0, network=None, shift_only=False,
               conditional_event_shape=None, hidden_units=(64, 64), hidden_channels=64,
               num_blocks=2, recompute_gradients=False, dtype=tf.float32,
               validate_args=False, name="affine_coupling"):
    parameters = dict(event_shape=event_shape, mask=mask, parity=parity, network=network,
                      shift_only=shift_only, conditional_event_shape=conditional_event_shape,
                      hidden_units=hidden_units, hidden_channels=hidden_channels,
                      num_blocks=num_blocks, recompute_gradients=recompute_gradients,
                      dtype=dtype, validate_args=validate_args, name=name)
    super().__init__(event_shape, mask, parity, network,
                     transform="additive" if shift_only else "affine",
                     conditional_event_shape=conditional_event_shape,
                     hidden_units=hidden_units, hidden_channels=hidden_channels,
                     num_blocks=num_blocks, recompute_gradients=recompute_gradients,
                     dtype=dtype, validate_args=validate_args, name=name)
    # TFP's `copy()` rebuilds a bijector from `parameters`: these are the class's own.
    self._parameters = self._no_dependency(parameters)
