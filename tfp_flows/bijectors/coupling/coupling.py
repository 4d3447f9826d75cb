"""Coupling layers for vectors `[D]` and images `[H, W, C]`, with any elementwise transform.

One half of the input (the mask's "copied" part) passes unchanged and conditions a network;
the network's output parametrises an elementwise transformer of the other half.
"""

import numpy as np
import tensorflow as tf

from tfp_flows import nn
from tfp_flows import transformers
from tfp_flows.nn import _precision
from tfp_flows.nn import _recompute
from tfp_flows.bijectors import _checks
from tfp_flows.bijectors import _one_pass

MASKS = ("half", "checkerboard", "channel", "packed_checkerboard")
# The coupling's names for its transforms: Glow's bounded affine scale, NICE's additive
# coupling, the neural spline, Flow++'s mixture-CDF coupling.
TRANSFORMS = {"affine": "glow_affine", "additive": "additive", "spline": "spline",
              "mixture_cdf": "flowpp_mixture_cdf"}


CHECKERBOARDS = {"masked": "checkerboard", "packed": "packed_checkerboard"}


def checkerboard_mask(checkerboard):
  """The coupling mask of a builder's `checkerboard` argument: "masked" (the network sees
  the masked image `m * x`) is "checkerboard", "packed" (each row's copied pixels packed
  into `[H, W/2, C]`) is "packed_checkerboard"; the same pixels either way."""
  if checkerboard not in CHECKERBOARDS:
    raise ValueError(f"Expected checkerboard='masked' or 'packed'. Received: "
                     f"checkerboard={checkerboard!r}")
  return CHECKERBOARDS[checkerboard]


def coupling_mask(event_shape, mask, parity):
  """1 where the coupling copies its input (and conditions on it), 0 where it transforms.

  "half": first half of a vector's entries; "channel": first half of an image's channels;
  "checkerboard": `(i + j) % 2 == 0` pixels of an image, even entries of a vector;
  "packed_checkerboard": the same pixels (an image's width must be even).
  `parity=1` swaps the halves.

  Example:
    >>> tff.bijectors.coupling.coupling_mask([4], "half", parity=0).tolist()
    [1.0, 1.0, 0.0, 0.0]
    >>> tff.bijectors.coupling.coupling_mask([2, 2, 1], "checkerboard", parity=1)[..., 0].tolist()
    [[0.0, 1.0], [1.0, 0.0]]
  """
  if mask not in MASKS:
    raise ValueError(f"Expected mask in {MASKS}. Received: mask={mask!r}")
  if parity not in (0, 1):
    raise ValueError(f"Expected parity 0 or 1. Received: parity={parity!r}")
  rank = len(event_shape)
  allowed = {1: ("half", "checkerboard"),
             3: ("channel", "checkerboard", "packed_checkerboard")}
  if mask not in allowed.get(rank, ()):
    raise ValueError(
        f"Expected mask='half' or 'checkerboard' for vectors [D], 'channel', 'checkerboard' or "
        f"'packed_checkerboard' for images [H, W, C]. Received: mask={mask!r}, "
        f"event_shape={list(event_shape)}")
  if mask == "packed_checkerboard" and event_shape[1] % 2:
    raise ValueError(
        "Expected an image of even width for mask='packed_checkerboard' (each row packs "
        f"half its pixels). Received: event_shape={list(event_shape)}")
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


def network_shapes(event_shape, mask, parity):
  """`(input shape, output event shape)` of a coupling network, without the params axis.

  Example:
    >>> tff.bijectors.coupling.network_shapes([4, 4, 6], "channel", parity=0)
    ([4, 4, 3], [4, 4, 3])
  """
  event_shape = [int(d) for d in event_shape]
  if mask == "packed_checkerboard":
    packed = [event_shape[0], event_shape[1] // 2, event_shape[2]]
    return packed, packed
  sizes = _split_sizes(event_shape, mask)
  if sizes is None:
    return event_shape, event_shape
  return event_shape[:-1] + [sizes[parity]], event_shape[:-1] + [sizes[1 - parity]]


class Coupling(_one_pass.OnePassBijector):
  """`z = m * x + (1 - m) * tau^-1(x; theta(m x))` (inverse), `x = ... tau(z; theta(m z))`.

  `m` is the mask (`coupling_mask`): where it is 1 the input is copied, and the copied part
  alone (with an optional context) gives the parameters `theta` of the elementwise
  transformer `tau` of the other part. `log|det dz/dx| = sum over the transformed part of
  log|tau^-1'|`. The "half" and "channel" masks split the last axis into two contiguous
  parts, and the network sees only the copied part and predicts only the transformed part;
  "checkerboard" feeds the network `m * x` and reads its output at the transformed
  positions; "packed_checkerboard" (images) transforms the same pixels, but packs each
  row's copied pixels into an `[H, W/2, C]` image for the network and reads its output as
  the transformed pixels packed the same way: half the network's work, as in normflows'
  checkerboard split. An image context `[H, W, C']` reaches that network packed the same
  way, both halves side by side: `[H, W/2, 2 C']`. Both directions are one network pass
  (Flow++'s mixture-CDF sampling adds a fixed-count root solve), each sharing its pass with
  its log-det through TFP's cache.

  Transforms:
    "affine": Glow's affine coupling, `z = (x + t) * sigmoid(h + 2)` (training direction,
      TFP's `inverse`), so the log-det is <= 0 (`transformers.GlowAffine`).
    "additive": NICE's `z = x + t`, log-det 0.
    "spline": a rational-quadratic spline on `[-B, B]`, identity outside
      (`transformers.RationalQuadraticSpline()`: 8 bins, B = 5; pass an object for others).
    "mixture_cdf": Flow++'s `z = logit(F(x)) e^a + b`, F a mixture of 5 logistics
      (`transformers.MixtureCDFLogit(K, affine=True)`; pass an object for other K);
      its sampling direction is solved numerically.
    or any `tfp_flows.transformers.Transformer`.

  Args:
    event_shape: `[D]` or `[H, W, C]`.
    mask: "half" (vectors), "channel" (images), "checkerboard" (both) or
      "packed_checkerboard" (images of even width).
    parity: 0 or 1, which half is copied.
    network: a Keras layer `copied -> [..., *transformed, num_params]` (shapes from
      `network_shapes`; called as `network(copied, context)` when conditional), or one of
      "mlp" (default for vectors), "resnet" (default for images), "glow" (Glow's 3-layer
      conv net), built here with the sizes below and a zero last layer.
    transform: see above.
    conditional_event_shape: shape of a context `conditional_input` that reaches the
      network (`[C]`, or `[H, W, C']` for images); `None` for none.
    hidden_units: widths of the "mlp" network.
    hidden_channels, num_blocks: width of the "resnet" and "glow" networks, resnet depth.
    recompute_gradients: call the network under `tf.recompute_grad` (gradient
      checkpointing, `tfp_flows.nn._recompute`): a training step keeps none of its hidden
      activations for the backward pass and recomputes them there, for about one more
      forward pass of the network per step. Outputs and gradients are unchanged.
    dtype: float dtype of the coupling's inputs and of a network built here; that network
      gets the global Keras policy instead when it is mixed over `dtype` variables (e.g.
      "mixed_bfloat16" for float32: bfloat16 compute, float32 variables and outputs).

  Example:
    >>> layer = tff.bijectors.Coupling([4], mask="half", transform="spline", hidden_units=[8])
    >>> x = tf.random.normal([5, 4])
    >>> z = layer.inverse(x)
    >>> bool(np.allclose(z, x, atol=1e-5))  # a zero network output: the identity spline
    True
    >>> bool(np.allclose(layer.forward(z), x, atol=1e-5))
    True
    >>> layer.inverse_log_det_jacobian(x, event_ndims=1).shape
    TensorShape([5])

  References:
    Dinh, Sohl-Dickstein, Bengio. Density estimation using Real NVP. ICLR 2017.
    https://arxiv.org/abs/1605.08803
    Durkan, Bekasov, Murray, Papamakarios. Neural Spline Flows. NeurIPS 2019.
    https://arxiv.org/abs/1906.04032
    Ho, Chen, Srinivas, Duan, Abbeel. Flow++. ICML 2019. https://arxiv.org/abs/1902.00275
  """

  def __init__(self, event_shape, mask="half", parity=0, network=None, transform="affine",
               conditional_event_shape=None, hidden_units=(64, 64), hidden_channels=64,
               num_blocks=2, recompute_gradients=False, dtype=tf.float32,
               validate_args=False, name="coupling"):
    parameters = dict(event_shape=event_shape, mask=mask, parity=parity, network=network,
                      transform=transform, conditional_event_shape=conditional_event_shape,
                      hidden_units=hidden_units, hidden_channels=hidden_channels,
                      num_blocks=num_blocks, recompute_gradients=recompute_gradients,
                      dtype=dtype, validate_args=validate_args, name=name)
    if not isinstance(recompute_gradients, bool):
      raise ValueError("Expected recompute_gradients to be True or False. Received: "
                       f"recompute_gradients={recompute_gradients!r}")
    self._event_shape = [int(d) for d in np.reshape(event_shape, [-1])]
    self._mask = coupling_mask(self._event_shape, mask, parity)
    self._packed = mask == "packed_checkerboard"
    self._transform = transformers.get(
        TRANSFORMS.get(transform, transform) if isinstance(transform, str) else transform)
    self._sizes = _split_sizes(self._event_shape, mask)
    self._parity = parity
    self._conditional_shape = (None if conditional_event_shape is None else
                               [int(d) for d in np.reshape(conditional_event_shape, [-1])])
    context_shape = self._network_context_shape()
    in_shape, out_shape = network_shapes(self._event_shape, mask, parity)
    num_params = self._transform.num_params
    if network is None or isinstance(network, str):
      network = _default_network(network, in_shape, out_shape, num_params, hidden_units,
                                 hidden_channels, num_blocks, context_shape,
                                 tf.as_dtype(dtype))
    if recompute_gradients:
      network = _recompute.Recomputed(network)
    self._network = network
    # The flow's dtype: the network's variables' (float32 under a mixed Keras policy, whose
    # compute dtype is bfloat16 or float16; `_network_params` casts its outputs back).
    self._input_dtype = tf.as_dtype(network.variable_dtype)
    _check_network(network, in_shape, out_shape + [num_params], context_shape,
                   self._input_dtype)
    self._network_variables = _checks.variables_of(network)
    super().__init__(forward_min_event_ndims=len(self._event_shape), dtype=None,
                     validate_args=validate_args, parameters=parameters, name=name)

  @property
  def network(self):
    return self._network

  @property
  def transform(self):
    return self._transform

  @property
  def mask(self):
    """1 where the coupling copies its input, 0 where it transforms (event-shaped numpy)."""
    return self._mask

  @property
  def conditional_event_shape(self):
    return self._conditional_shape

  def _network_context_shape(self):
    """The context's shape as the network sees it: packed for a packed checkerboard."""
    shape = self._conditional_shape
    if not self._packed or shape is None or len(shape) == 1:
      return shape
    if len(shape) != 3 or list(shape[:2]) != list(self._event_shape[:2]):
      raise ValueError(
          "Expected a vector context [C] or an image context of the image's height and width "
          f"[{self._event_shape[0]}, {self._event_shape[1]}, C'] for "
          f"mask='packed_checkerboard'. Received: conditional_event_shape={list(shape)}")
    return [shape[0], shape[1] // 2, 2 * shape[2]]

  def _params(self, kept, conditional_input):
    if (conditional_input is None) != (self._conditional_shape is None):
      raise ValueError(
          "Expected conditional_input exactly when conditional_event_shape is set. Received: "
          f"conditional_event_shape={self._conditional_shape}, conditional_input="
          f"{'None' if conditional_input is None else 'a tensor'} ({self.name})")
    if conditional_input is None:
      return self._network_params(self._network, kept)
    context = _checks.checked_input(tf.convert_to_tensor(conditional_input, kept.dtype),
                                    kept.dtype, self._conditional_shape, self.validate_args,
                                    "conditional_input")
    if self._packed and len(self._conditional_shape) == 3:
      context = tf.concat(_packed_halves(context, self._parity), axis=-1)
    return self._network_params(self._network, kept, context)

  def _couple(self, u, elementwise, name, conditional_input):
    """`(output, log-det)`: `elementwise(part, params)` on the transformed part of `u`."""
    u = _checks.checked_input(u, self._input_dtype, self._event_shape, self.validate_args,
                              name)
    event_axes = list(range(-len(self._event_shape), 0))
    if self._packed:
      kept, part = _packed_halves(u, self._parity)
      changed, log_det = elementwise(part, self._params(kept, conditional_input))
      return (_unpacked(kept, changed, self._parity),
              tf.reduce_sum(log_det, axis=event_axes))
    if self._sizes is None:  # Checkerboard: mask by multiplication.
      mask = tf.constant(self._mask, u.dtype)
      changed, log_det = elementwise(u, self._params(u * mask, conditional_input))
      out = mask * u + (1. - mask) * changed
      return out, tf.reduce_sum((1. - mask) * log_det, axis=event_axes)
    parts = tf.split(u, self._sizes, axis=-1)
    kept = parts[self._parity]
    changed, log_det = elementwise(parts[1 - self._parity],
                                   self._params(kept, conditional_input))
    parts[1 - self._parity] = changed
    return tf.concat(parts, axis=-1), tf.reduce_sum(log_det, axis=event_axes)

  def _forward_and_log_det(self, z, conditional_input=None):
    return self._couple(z, self._transform.forward_and_log_det, "z", conditional_input)

  def _inverse_and_log_det(self, x, conditional_input=None):
    return self._couple(x, self._transform.inverse_and_log_det, "x", conditional_input)


def _split_sizes(event_shape, mask):
  """Sizes of the two parts of the last axis for "half"/"channel"; None for checkerboards."""
  if mask in ("checkerboard", "packed_checkerboard"):
    return None
  first = event_shape[-1] // 2
  return [first, event_shape[-1] - first]


def _copied_at_even_columns(height, parity):
  """`[H, 1, 1]` bools: whether row i copies its even columns (`(i + j + parity)` even)."""
  return tf.constant(((np.arange(height) + parity) % 2 == 0).reshape([height, 1, 1]))


def _packed_halves(u, parity):
  """`(copied, transformed)` pixels of images `[..., H, W, C]`, each `[..., H, W/2, C]`:
  row i of a half holds, in order, that row's pixels j with `(i + j + parity) % 2` even
  (copied) or odd (transformed)."""
  height, width, channels = u.shape[-3:]
  pairs = tf.reshape(u, tf.concat([tf.shape(u)[:-3], [height, width // 2, 2, channels]], 0))
  even, odd = pairs[..., 0, :], pairs[..., 1, :]  # Columns 2k and 2k + 1.
  copied_even = _copied_at_even_columns(height, parity)
  return tf.where(copied_even, even, odd), tf.where(copied_even, odd, even)


def _unpacked(copied, transformed, parity):
  """The images `[..., H, W, C]` whose `_packed_halves` are `(copied, transformed)`."""
  height, half_width, channels = copied.shape[-3:]
  copied_even = _copied_at_even_columns(height, parity)
  pairs = tf.stack([tf.where(copied_even, copied, transformed),
                    tf.where(copied_even, transformed, copied)], axis=-2)
  return tf.reshape(pairs, tf.concat([tf.shape(copied)[:-3],
                                      [height, 2 * half_width, channels]], 0))


def _check_network(network, in_shape, out_shape, conditional_shape, dtype):
  """Calls `network` once on zeros; `ValueError` naming the shapes unless it fits."""
  expected = (f"Expected the network to map [..., {_dims(in_shape)}]"
              + ("" if conditional_shape is None else
                 f" and a context [..., {_dims(conditional_shape)}]")
              + f" to [..., {_dims(out_shape)}]")
  inputs = [tf.zeros([1] + in_shape, dtype)]
  if conditional_shape is not None:
    inputs.append(tf.zeros([1] + conditional_shape, dtype))
  try:
    out = network(*inputs)
  except (ValueError, TypeError, tf.errors.InvalidArgumentError) as error:
    raise ValueError(f"{expected}. Received: a network that fails on that input") from error
  if out.shape.as_list() != [1] + out_shape:
    raise ValueError(f"{expected}. Received: output shape {out.shape.as_list()[1:]}")


def _default_network(kind, in_shape, out_shape, num_params, hidden_units, hidden_channels,
                     num_blocks, conditional_shape, dtype):
  """The network `Coupling(network=kind)` builds: "mlp", "resnet" or "glow" (`None`: "mlp"
  for vectors, "resnet" for images), shapes from `network_shapes`, zero last layer."""
  kind = kind or ("mlp" if len(in_shape) == 1 else "resnet")
  kinds = {1: ("mlp",), 3: ("resnet", "glow")}[len(in_shape)]
  if kind not in kinds:
    raise ValueError(f"Expected network in {kinds} or a Keras layer for event rank "
                     f"{len(in_shape)}. Received: network={kind!r}")
  if kind == "mlp":
    return nn.CouplingMLP(in_shape[0], hidden_units, params=num_params,
                          output_size=out_shape[0], conditional_event_shape=conditional_shape,
                          dtype=_precision.layer_policy(dtype))
  network = nn.CouplingResNet if kind == "resnet" else nn.GlowNetwork
  sizes = dict(num_blocks=num_blocks) if kind == "resnet" else {}
  return network(in_shape, hidden_channels, params=num_params, output_channels=out_shape[-1],
                 conditional_event_shape=conditional_shape,
                 dtype=_precision.layer_policy(dtype), **sizes)


def _dims(shape):
  return ", ".join(str(d) for d in shape)
