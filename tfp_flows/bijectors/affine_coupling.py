"""RealNVP affine coupling for vectors `[D]` and images `[H, W, C]`."""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
from tensorflow_probability.python.internal import cache_util

from tfp_flows import nn
from tfp_flows.bijectors import _checks

tfb = tfp.bijectors
MASKS = ("half", "checkerboard", "channel")


def coupling_mask(event_shape, mask, parity):
  """1 where the coupling copies its input (and conditions on it), 0 where it transforms.

  "half": first half of a vector's entries; "channel": first half of an image's channels;
  "checkerboard": `(i + j) % 2 == 0` pixels of an image, even entries of a vector.
  `parity=1` swaps the halves.
  """
  if mask not in MASKS:
    raise ValueError(f"Expected mask in {MASKS}. Received: mask={mask!r}")
  if parity not in (0, 1):
    raise ValueError(f"Expected parity 0 or 1. Received: parity={parity!r}")
  rank = len(event_shape)
  allowed = {1: ("half", "checkerboard"), 3: ("channel", "checkerboard")}
  if mask not in allowed.get(rank, ()):
    raise ValueError(
        f"Expected mask='half' or 'checkerboard' for vectors [D], 'channel' or 'checkerboard' "
        f"for images [H, W, C]. Received: mask={mask!r}, event_shape={list(event_shape)}")
  if mask == "half":
    keep = np.arange(event_shape[0]) < event_shape[0] // 2
  elif mask == "channel":
    keep = np.broadcast_to(np.arange(event_shape[2]) < event_shape[2] // 2, event_shape)
  elif rank == 1:
    keep = np.arange(event_shape[0]) % 2 == 0
  else:
    rows, cols = np.indices(event_shape[:2])
    keep = np.broadcast_to(((rows + cols) % 2 == 0)[..., np.newaxis], event_shape)
  keep = keep != bool(parity)
  if keep.all() or not keep.any():
    raise ValueError(f"Expected both halves of the {mask} mask to be non-empty for "
                     f"event_shape={list(event_shape)}")
  return keep.astype(np.float32)


class AffineCoupling(tfb.Bijector):
  """`x = m * z + (1 - m) * (z * s(m * z) + t(m * z))`, `log|det| = sum (1 - m) log s`.

  `m` is the mask (`coupling_mask`); `(t, raw) = network(m * z)`, and the scale is Glow's
  bounded `s = sigmoid(raw + 2)`, in (0, 1), equal to 0.88 at a zero network output; with
  `shift_only=True` (NICE's additive coupling) `s = 1` and the log-det is 0. The default
  network starts at zero output, so the coupling starts near the identity. Both directions
  are one network pass; the inverse shares its pass with its log-det through TFP's cache.

  Args:
    event_shape: `[D]` or `[H, W, C]`.
    mask: "half" (vectors), "channel" (images) or "checkerboard" (both).
    parity: 0 or 1, which half is copied.
    network: a Keras layer `event -> event + [2]` (shift, raw scale); default
      `CouplingMLP` for vectors, `CouplingResNet` for images.
    shift_only: additive coupling.
    hidden_units / hidden_channels, num_blocks: size of the default network.
    dtype: float dtype of the default network.

  References:
    Dinh, Sohl-Dickstein, Bengio. Density estimation using Real NVP. ICLR 2017.
    https://arxiv.org/abs/1605.08803
  """

  _cache = cache_util.BijectorCacheWithGreedyAttrs(
      forward_name="_augmented_forward", inverse_name="_augmented_inverse")

  def __init__(self, event_shape, mask="half", parity=0, network=None, shift_only=False,
               hidden_units=(64, 64), hidden_channels=64, num_blocks=2, dtype=tf.float32,
               validate_args=False, name="affine_coupling"):
    parameters = dict(locals())
    self._event_shape = [int(d) for d in np.reshape(event_shape, [-1])]
    self._mask = coupling_mask(self._event_shape, mask, parity)
    self._shift_only = shift_only
    dtype = tf.as_dtype(dtype)
    if network is None:
      network = (nn.CouplingMLP(self._event_shape[0], hidden_units, dtype=dtype.name)
                 if len(self._event_shape) == 1 else
                 nn.CouplingResNet(self._event_shape, hidden_channels, num_blocks,
                                   dtype=dtype.name))
    self._network = network
    self._input_dtype = tf.as_dtype(network.compute_dtype)
    if not network.built:
      network(tf.zeros([1] + self._event_shape, self._input_dtype))
    self._network_variables = _checks.variables_of(network)
    super().__init__(forward_min_event_ndims=len(self._event_shape), dtype=None,
                     validate_args=validate_args, parameters=parameters, name=name)

  @property
  def network(self):
    return self._network

  @property
  def mask(self):
    return self._mask

  def _scale_and_shift(self, kept):
    """`(log s, t)` from the copied half, each of the event's shape."""
    params = self._network(kept)
    shift = params[..., 0]
    if self._shift_only:
      return tf.zeros_like(shift), shift
    return tf.math.log_sigmoid(params[..., 1] + 2.), shift

  def _coupled(self, u, name):
    u = _checks.checked_input(u, self._input_dtype, self._event_shape, self.validate_args,
                              name)
    mask = tf.constant(self._mask, u.dtype)
    log_scale, shift = self._scale_and_shift(u * mask)
    return u, log_scale * (1. - mask), shift * (1. - mask)

  def _sum_event(self, t):
    return tf.reduce_sum(t, axis=list(range(-len(self._event_shape), 0)))

  def _augmented_forward(self, z):
    z, log_scale, shift = self._coupled(z, "z")
    fldj = self._sum_event(log_scale)
    return z * tf.exp(log_scale) + shift, {"fldj": fldj, "ildj": -fldj}

  def _augmented_inverse(self, x):
    x, log_scale, shift = self._coupled(x, "x")
    ildj = -self._sum_event(log_scale)
    return (x - shift) * tf.exp(-log_scale), {"ildj": ildj, "fldj": -ildj}

  def _forward(self, z):
    return self._augmented_forward(z)[0]

  def _inverse(self, x):
    return self._augmented_inverse(x)[0]

  def _forward_log_det_jacobian(self, z):
    return self._augmented_forward(z)[1]["fldj"]

  def _inverse_log_det_jacobian(self, x):
    return self._augmented_inverse(x)[1]["ildj"]
