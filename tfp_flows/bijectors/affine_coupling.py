"""RealNVP affine coupling for vectors `[D]` and images `[H, W, C]`."""

import numpy as np
import tensorflow as tf

from tfp_flows import nn
from tfp_flows.bijectors import _checks
from tfp_flows.bijectors import _one_pass

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


class AffineCoupling(_one_pass.OnePassBijector):
  """`z = m * x + (1 - m) * (x + t(m x)) * s(m x)` (inverse), `log|det dz/dx| = sum log s`.

  `m` is the mask (`coupling_mask`); `(t, raw) = network(copied part)`, and the scale is
  Glow's bounded `s = sigmoid(raw + 2)`, in (0, 1), equal to 0.88 at a zero network output.
  As in Glow, the data-to-latent direction (TFP's `inverse`, the one training runs)
  multiplies by `s`, so it can only contract and its log-det is bounded above by 0: the
  likelihood cannot grow without bound by shrinking `s`. Sampling (`forward`) is
  `x = z / s - t` on the transformed part. With `shift_only=True` (NICE's additive
  coupling) `s = 1` and the log-det is 0. The
  "half" and "channel" masks split the last axis into two contiguous parts, and the network
  sees only the copied part and predicts only the transformed part; "checkerboard" feeds
  the network `m * z` and reads its output at the transformed positions. The default
  networks start at zero output, so the coupling starts near the identity. Both directions
  are one network pass; each shares its pass with its log-det through TFP's cache.

  Args:
    event_shape: `[D]` or `[H, W, C]`.
    mask: "half" (vectors), "channel" (images) or "checkerboard" (both).
    parity: 0 or 1, which half is copied.
    network: a Keras layer `copied -> transformed + [params]`, with `params` = 2 (shift,
      raw scale), or 1 with `shift_only`; the shapes are `network_shapes(...)`. Or one of
      "mlp" (default for vectors), "resnet" (default for images), "glow" (Glow's 3-layer
      conv net), built here with the sizes below.
    shift_only: additive coupling.
    hidden_units: widths of the "mlp" network.
    hidden_channels, num_blocks: width of the "resnet" and "glow" networks, resnet depth.
    dtype: float dtype of a network built here.

  References:
    Dinh, Sohl-Dickstein, Bengio. Density estimation using Real NVP. ICLR 2017.
    https://arxiv.org/abs/1605.08803
  """

  def __init__(self, event_shape, mask="half", parity=0, network=None, shift_only=False,
               hidden_units=(64, 64), hidden_channels=64, num_blocks=2, dtype=tf.float32,
               validate_args=False, name="affine_coupling"):
    parameters = dict(locals())
    self._event_shape = [int(d) for d in np.reshape(event_shape, [-1])]
    self._mask = coupling_mask(self._event_shape, mask, parity)
    self._shift_only = shift_only
    self._params = 1 if shift_only else 2
    self._sizes = _split_sizes(self._event_shape, mask, parity)
    self._parity = parity
    in_shape, out_shape = network_shapes(self._event_shape, mask, parity)
    if network is None or isinstance(network, str):
      network = _default_network(network, in_shape, out_shape, self._params, hidden_units,
                                 hidden_channels, num_blocks, tf.as_dtype(dtype))
    self._network = network
    self._input_dtype = tf.as_dtype(network.compute_dtype)
    expected = (f"Expected the network to map [..., {_dims(in_shape)}] to "
                f"[..., {_dims(out_shape + [self._params])}]")
    try:
      out = network(tf.zeros([1] + in_shape, self._input_dtype))
    except (ValueError, tf.errors.InvalidArgumentError) as error:
      raise ValueError(f"{expected}. Received: a network that fails on that input") from error
    if out.shape.as_list() != [1] + out_shape + [self._params]:
      raise ValueError(f"{expected}. Received: output shape {out.shape.as_list()[1:]}")
    self._network_variables = _checks.variables_of(network)
    super().__init__(forward_min_event_ndims=len(self._event_shape), dtype=None,
                     validate_args=validate_args, parameters=parameters, name=name)

  @property
  def network(self):
    return self._network

  @property
  def mask(self):
    """1 where the coupling copies its input, 0 where it transforms (event-shaped numpy)."""
    return self._mask

  def _scale_and_shift(self, kept):
    """`(log s, t)` for the transformed part, from the copied part."""
    params = self._network(kept)
    shift = params[..., 0]
    if self._shift_only:
      return tf.zeros_like(shift), shift
    return tf.math.log_sigmoid(params[..., 1] + 2.), shift

  def _transform(self, u, name, direction):
    """`(output, log|det d output / d u|)` with `direction` +1 (forward) or -1 (inverse)."""
    u = _checks.checked_input(u, self._input_dtype, self._event_shape, self.validate_args,
                              name)
    if self._sizes is None:  # Checkerboard: mask by multiplication.
      mask = tf.constant(self._mask, u.dtype)
      log_scale, shift = self._scale_and_shift(u * mask)
      log_scale, shift = log_scale * (1. - mask), shift * (1. - mask)
      out = _affine(u, log_scale, shift, direction)
    else:
      parts = tf.split(u, self._sizes, axis=-1)
      kept, changed = parts[self._parity], parts[1 - self._parity]
      log_scale, shift = self._scale_and_shift(kept)
      parts[1 - self._parity] = _affine(changed, log_scale, shift, direction)
      out = tf.concat(parts, axis=-1)
    log_det = -direction * tf.reduce_sum(log_scale,
                                         axis=list(range(-len(self._event_shape), 0)))
    return out, log_det

  def _augmented_forward(self, z):
    x, fldj = self._transform(z, "z", 1.)
    return x, {"fldj": fldj, "ildj": -fldj}

  def _augmented_inverse(self, x):
    z, ildj = self._transform(x, "x", -1.)
    return z, {"ildj": ildj, "fldj": -ildj}


def _affine(u, log_scale, shift, direction):
  """Forward (+1) `u / s - t`, inverse (-1) `(u + t) s`, with `log s = log_scale`."""
  if direction > 0:
    return u * tf.exp(-log_scale) - shift
  return (u + shift) * tf.exp(log_scale)


def _split_sizes(event_shape, mask, parity):
  """Sizes of the two parts of the last axis for "half"/"channel"; None for checkerboard."""
  if mask == "checkerboard":
    return None
  first = event_shape[-1] // 2
  return [first, event_shape[-1] - first]


def network_shapes(event_shape, mask, parity):
  """`(input shape, output event shape)` of a coupling network, without the params axis."""
  event_shape = [int(d) for d in event_shape]
  sizes = _split_sizes(event_shape, mask, parity)
  if sizes is None:
    return event_shape, event_shape
  return event_shape[:-1] + [sizes[parity]], event_shape[:-1] + [sizes[1 - parity]]


def _default_network(kind, in_shape, out_shape, params, hidden_units, hidden_channels,
                     num_blocks, dtype):
  kind = kind or ("mlp" if len(in_shape) == 1 else "resnet")
  kinds = {1: ("mlp",), 3: ("resnet", "glow")}[len(in_shape)]
  if kind not in kinds:
    raise ValueError(f"Expected network in {kinds} or a Keras layer for event rank "
                     f"{len(in_shape)}. Received: network={kind!r}")
  if kind == "mlp":
    return nn.CouplingMLP(in_shape[0], hidden_units, params=params, output_size=out_shape[0],
                          dtype=dtype.name)
  if kind == "resnet":
    return nn.CouplingResNet(in_shape, hidden_channels, num_blocks, params=params,
                             output_channels=out_shape[-1], dtype=dtype.name)
  return nn.GlowNetwork(in_shape, hidden_channels, params=params,
                        output_channels=out_shape[-1], dtype=dtype.name)


def _dims(shape):
  return ", ".join(str(d) for d in shape)
