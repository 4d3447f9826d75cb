"""Ready-made multi-scale image flows: RealNVP and Glow over `[H, W, C]` integer images.

Each returns one `FlowDistribution` over the data's shape: a standard normal base of the
same shape, and the chain (data side first)
`UniformDequantization(K) -> LogitPreprocessing(alpha) -> multi-scale flow`. Its
`log_prob(x)` on integer images `x in {0, ..., K-1}` is the dequantization lower bound on
`log P(x)`, so `tff.metrics.bits_per_dim(log_prob, image_shape)` is bits/dim.
"""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_flows import _random
from tfp_flows import bijectors
from tfp_flows import distributions
from tfp_flows import nn
from tfp_flows import transformers
from tfp_flows.models import _parts
from tfp_flows.models import recipe
from tfp_flows.nn import _precision

tfb = tfp.bijectors
tfd = tfp.distributions


@recipe.builder
def realnvp(image_shape, num_scales=2, hidden_channels=64, num_blocks=2, num_bins=256,
            logit_alpha=0.05, num_classes=None, recompute_gradients=False,
            checkerboard="masked", dtype=tf.float32, validate_args=False, name="realnvp"):
  """RealNVP (Dinh et al. 2017, section 4.1), data to latent at each scale:

  3 checkerboard couplings, squeeze, 3 channel couplings, factor out half the channels,
  then the next scale on the other half; the last scale is 4 checkerboard couplings.
  Couplings alternate parity and use a `CouplingResNet` with Glow's bounded scale
  (`AffineCoupling`); there is no batch normalisation.

  Args:
    image_shape: `[H, W, C]`; H and W divisible by `2 ** (num_scales - 1)`.
    num_scales: number of scales (the paper: 4 for 32x32 CIFAR-10, 3 for 28x28 MNIST).
    hidden_channels, num_blocks: size of each coupling's ResNet.
    num_bins: K, the number of levels of the data (256 for 8-bit images); `None` for
      continuous data in [0, 1] (no dequantization).
    logit_alpha: alpha of the logit preprocessing; `None` feeds [0, 1] data to the flow.
    num_classes: K for a class-conditional flow `p(x | k)`: its context is an integer
      label in `[0, K)` (`log_prob(x, context=labels)`), one-hot encoded, and every
      coupling network adds a learned map of it to its first layer; `None`: unconditional.
    recompute_gradients: run each coupling network under `tf.recompute_grad` (gradient
      checkpointing): a training step keeps no network activations for its backward pass
      (the `[N, H, W, hidden_channels]` tensors that dominate a deep flow's peak memory)
      and recomputes them there instead, for about one more forward pass of every
      network per step (`tff.bijectors.Coupling`). Outputs and gradients are those of the
      plain flow.
    checkerboard: what a checkerboard coupling's network sees. "masked" (the paper's): the
      masked image `m * x`, `[H, W, C]`. "packed": each row's copied pixels packed into
      `[H, W/2, C]`, predicting the transformed pixels packed the same way (normflows'
      checkerboard split; mask "packed_checkerboard"), which halves those networks' work.
      The same pixels are copied and transformed either way; the networks differ, so the
      two are different flows. "packed" needs W divisible by `2 ** num_scales`.

  Example:
    >>> flow = tff.models.realnvp([4, 4, 1], num_scales=2, hidden_channels=4, num_blocks=1,
    ...                           num_bins=4)
    >>> x = np.random.randint(0, 4, [2, 4, 4, 1]).astype(np.float32)  # integer levels
    >>> flow.log_prob(x).shape, flow.sample(3).shape
    (TensorShape([2]), TensorShape([3, 4, 4, 1]))
  """
  _parts.check_count(num_scales=num_scales, hidden_channels=hidden_channels)
  board = bijectors.coupling.coupling.checkerboard_mask(checkerboard)
  context_shape = label_context(num_classes)
  image_shape = checked_image_shape(image_shape, 2 ** (num_scales - 1), "num_scales")
  if checkerboard == "packed" and image_shape[1] % 2 ** num_scales:
    raise ValueError(
        f"Expected an image width divisible by 2 ** num_scales = {2 ** num_scales} for "
        f"checkerboard='packed' (the checkerboard couplings of every scale pack half of each "
        f"row). Received: image_shape={image_shape}, num_scales={num_scales}")
  last = [d // 2 ** (num_scales - 1) for d in image_shape[:2]]
  if last[0] * last[1] < 2:
    raise ValueError(
        f"Expected an image large enough for num_scales={num_scales}: its last scale would "
        f"be {last[0]}x{last[1]} pixels, too few for a checkerboard coupling. Received: "
        f"image_shape={image_shape}")

  def coupling(shape, mask, parity, tag):
    return bijectors.AffineCoupling(shape, mask, parity, hidden_channels=hidden_channels,
                                    num_blocks=num_blocks, conditional_event_shape=context_shape,
                                    recompute_gradients=recompute_gradients, dtype=dtype,
                                    validate_args=validate_args, name=f"{name}_{tag}")

  def scale(shape, index):
    """Data-to-latent list of the bijectors of scale `index` and the ones below it."""
    if index == num_scales - 1:
      return [coupling(shape, board, i % 2, f"s{index}_checkerboard_{i}") for i in range(4)]
    layers = [coupling(shape, board, i % 2, f"s{index}_checkerboard_{i}") for i in range(3)]
    squeezed = squeezed_shape(shape)
    layers.append(tfb.Invert(bijectors.Squeeze(2), name=f"{name}_s{index}_squeeze"))
    layers += [coupling(squeezed, "channel", i % 2, f"s{index}_channel_{i}")
               for i in range(3)]
    inner = tfb.Chain(scale(squeezed[:2] + [squeezed[2] // 2], index + 1),
                      name=f"{name}_s{index + 1}")
    layers += [bijectors.FactorOut(inner, squeezed, validate_args=validate_args,
                                   name=f"{name}_s{index}_factor_out"),
               bijectors.Squeeze(2, name=f"{name}_s{index}_unsqueeze")]
    return layers

  return image_flow(image_shape, scale(image_shape, 0),
                     _uniform(num_bins, validate_args, name), logit_alpha, dtype,
                     validate_args, name, num_classes)


@recipe.builder
def glow(image_shape, levels=3, depth=8, hidden_channels=512, num_bins=256, logit_alpha=0.05,
         lu_decomposed=True, learned_prior=False, num_classes=None, seed=None,
         recompute_gradients=False, dtype=tf.float32, validate_args=False, name="glow"):
  """Glow (Kingma & Dhariwal 2018), data to latent at each level:

  squeeze, then `depth` steps of ActNorm -> invertible 1x1 conv -> affine coupling (channel
  mask, Glow's 3-layer conv network), then factor out half the channels (not after the
  last level) and go on with the other half. The factored-out half has a standard normal
  prior, or with `learned_prior=True` Glow's learned conditional prior
  `N(mu(h), sigma(h)^2)` given the half `h` that goes on (`split_prior`). ActNorms start
  uninitialised: call `tff.bijectors.initialize_act_norms(dist, batch)` once before
  training.

  Args:
    image_shape: `[H, W, C]`; H and W divisible by `2 ** levels`.
    levels: number of levels L (Glow: 3 for 32x32).
    depth: steps per level K (Glow: 32).
    hidden_channels: width of the coupling networks (Glow: 512).
    num_bins, logit_alpha: as in `realnvp`.
    lu_decomposed: LU-parameterised 1x1 convolutions.
    learned_prior: Glow's learned prior for the factored-out channels.
    num_classes: K for a class-conditional Glow (as in `realnvp`); the learned prior, when
      on, is conditioned on the label too.
    seed: seed of the 1x1 convolutions' random rotations.
    recompute_gradients: gradient checkpointing of the coupling networks, as in
      `realnvp`: less activation memory per training step (the networks' hidden
      activations of every step are not kept), about one more forward pass of each
      network in the backward pass. For deep Glows (large `depth`, `hidden_channels`).

  Example:
    >>> flow = tff.models.glow([4, 4, 1], levels=2, depth=1, hidden_channels=4, num_bins=4)
    >>> x = np.random.randint(0, 4, [8, 4, 4, 1]).astype(np.float32)
    >>> tff.bijectors.initialize_act_norms(flow, x)  # once, before training
    2
    >>> bpd = tff.metrics.bits_per_dim(flow.log_prob(x), [4, 4, 1])
    >>> bpd.shape, bool(tf.reduce_all(bpd > 0))
    (TensorShape([8]), True)
    >>> samples = flow.sample(2, temperature=0.7)  # levels in [0, 3]
    >>> samples.shape, bool(tf.reduce_all((samples >= 0) & (samples <= 3)))
    (TensorShape([2, 4, 4, 1]), True)
  """
  _parts.check_count(levels=levels, depth=depth, hidden_channels=hidden_channels)
  image_shape = checked_image_shape(image_shape, 2 ** levels, "levels")
  context_shape = label_context(num_classes)

  def coupling(shape, tag):
    return bijectors.AffineCoupling(shape, "channel", network="glow",
                                    hidden_channels=hidden_channels,
                                    conditional_event_shape=context_shape,
                                    recompute_gradients=recompute_gradients, dtype=dtype,
                                    validate_args=validate_args, name=f"{name}_{tag}_coupling")

  layers = multi_scale(image_shape, levels, depth, coupling, lu_decomposed, learned_prior,
                       seed, dtype, validate_args, name, context_shape)
  return image_flow(image_shape, layers, _uniform(num_bins, validate_args, name),
                     logit_alpha, dtype, validate_args, name, num_classes)


def multi_scale(image_shape, levels, depth, coupling, lu_decomposed, learned_prior, seed,
                dtype, validate_args, name, conditional_event_shape=None):
  """Glow's multi-scale flow, data to latent: at each level squeeze, then `depth` steps of
  ActNorm -> invertible 1x1 conv -> `coupling(shape, tag)`, then (but at the last level)
  an optional `split_prior` (given `conditional_event_shape` contexts too) and factor out
  half the channels; the rest goes a level down. Returns the data-to-latent list of
  bijectors (a `tfb.Chain`'s order)."""
  rng = _random.numpy_generator(seed)

  def step(shape, tag):
    return [bijectors.ActNorm(shape, dtype=dtype, validate_args=validate_args,
                              name=f"{name}_{tag}_act_norm"),
            bijectors.Invertible1x1Conv(shape[-1], lu_decomposed, seed=rng.integers(2**31),
                                        dtype=dtype, validate_args=validate_args,
                                        name=f"{name}_{tag}_1x1_conv"),
            coupling(shape, tag)]

  def level(shape, index):
    squeezed = squeezed_shape(shape)
    layers = [tfb.Invert(bijectors.Squeeze(2), name=f"{name}_l{index}_squeeze")]
    for i in range(depth):
      layers += step(squeezed, f"l{index}_step{i}")
    if index < levels - 1:
      if learned_prior:
        layers.append(split_prior(squeezed, dtype, validate_args, f"{name}_l{index}_prior",
                                  conditional_event_shape))
      inner = tfb.Chain(level(squeezed[:2] + [squeezed[2] // 2], index + 1),
                        name=f"{name}_l{index + 1}")
      layers.append(bijectors.FactorOut(inner, squeezed, validate_args=validate_args,
                                        name=f"{name}_l{index}_factor_out"))
    layers.append(bijectors.Squeeze(2, name=f"{name}_l{index}_unsqueeze"))
    return layers

  return level(image_shape, 0)


def split_prior(event_shape, dtype, validate_args, name, conditional_event_shape=None):
  """Glow's learned prior of the factored-out channels, as a bijector with a standard base.

  The first `C // 2` channels (those `FactorOut` factors out, data side `x1`) get the prior
  `N(mu(x2), diag(sigma(x2))^2)` given the other channels `x2`, with `(mu, log sigma)` from
  one zero-initialised 3x3 convolution (Glow's `split2d` prior). The coupling
  `z1 = (x1 - mu(x2)) / sigma(x2)` ahead of the `FactorOut` gives exactly that density under
  the flow's standard normal base, and starts as the identity (the standard normal prior).
  """
  height, width, channels = event_shape
  factored = channels // 2
  network = nn.GlowPriorNetwork([height, width, channels - factored], params=2,
                                output_channels=factored,
                                conditional_event_shape=conditional_event_shape,
                                dtype=_precision.layer_policy(dtype), name=f"{name}_network")
  return bijectors.Coupling(event_shape, "channel", parity=1, network=network,
                            transform=transformers.Affine(),
                            conditional_event_shape=conditional_event_shape,
                            validate_args=validate_args, name=name)


def _uniform(num_bins, validate_args, name):
  """The uniform dequantization of `num_bins` levels, or `None` for continuous data."""
  if num_bins is None:
    return None
  return bijectors.UniformDequantization(num_bins, validate_args=validate_args,
                                         name=f"{name}_dequantization")


def label_context(num_classes):
  """The one-hot context shape `[K]` of a class-conditional flow, or `None`."""
  if num_classes is None:
    return None
  _parts.check_count(num_classes=num_classes)
  return [int(num_classes)]


def image_flow(image_shape, flow_layers, dequantization, logit_alpha, dtype, validate_args,
                name, num_classes=None):
  """`FlowDistribution` of a standard normal through `dequantization` (or none), the logit
  and the data-to-latent `flow_layers`; with `num_classes`, its context is a class label."""
  layers = []  # tfb.Chain's inverse runs its list front to back: data side first.
  if dequantization is not None:
    layers.append(dequantization)
  if logit_alpha is not None:
    layers.append(bijectors.LogitPreprocessing(logit_alpha, validate_args=validate_args,
                                               name=f"{name}_logit"))
  base = tfd.Sample(tfd.Normal(tf.zeros([], dtype), tf.ones([], dtype)), image_shape)
  flow = distributions.FlowDistribution(base, tfb.Chain(layers + flow_layers, name=name),
                                        validate_args=validate_args, name=name)
  flow.num_classes = None if num_classes is None else int(num_classes)
  return flow


def squeezed_shape(shape):
  height, width, channels = shape
  return [height // 2, width // 2, 4 * channels]


def checked_image_shape(image_shape, divisor, what):
  shape = [int(d) for d in np.reshape(image_shape, [-1])]
  if len(shape) != 3 or min(shape) < 1:
    raise ValueError(f"Expected image_shape [H, W, C]. Received: image_shape={image_shape!r}")
  if shape[0] % divisor or shape[1] % divisor:
    raise ValueError(
        f"Expected H and W divisible by {divisor} for this {what}. "
        f"Received: image_shape={shape}")
  return shape
