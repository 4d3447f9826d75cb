"""Flow++ for images: mixture-of-logistics CDF couplings and variational dequantization."""

import tensorflow as tf

from tfp_flows import bijectors
from tfp_flows import transformers
from tfp_flows.models import _parts
from tfp_flows.models import image
from tfp_flows.models import recipe


@recipe.builder
def flowpp(image_shape, num_bins=256, levels=2, depth=4, hidden_channels=64,
           num_components=8, dequantization_layers=4, dequantization_hidden_channels=32,
           learned_prior=True, logit_alpha=0.05, num_classes=None, seed=None,
           recompute_gradients=False, checkerboard="masked", dtype=tf.float32,
           validate_args=False, name="flowpp"):
  """Flow++ (Ho et al. 2019) over `[H, W, C]` integer images of `num_bins` levels.

  Data to latent: `VariationalDequantization` (a conditional spline-coupling flow for the
  noise in each bin, uniform at the start), the logit, then Glow's multi-scale layout
  (`glow`'s levels of ActNorm -> invertible 1x1 conv -> coupling, factoring out half the
  channels at each level with Glow's learned prior) whose couplings are Flow++'s
  `z = logit(F(x)) e^a + b`, F a mixture of `num_components` logistics
  (`transformers.MixtureCDFLogit(affine=True)`), with Glow's conv network. `log_prob` of
  integer images is the variational dequantization bound; sampling inverts each
  mixture-CDF coupling numerically (fixed-count Newton-bisection). Unlike the paper there
  is no self-attention in the conditioners (CPU-sized); ActNorms start uninitialised
  (`tff.bijectors.initialize_act_norms`, or `FlowModel.fit` does it).

  Args:
    image_shape: `[H, W, C]`; H and W divisible by `2 ** levels`.
    num_bins: K >= 2, the number of levels of the data.
    levels, depth: the multi-scale layout (as `glow`).
    hidden_channels: width of the coupling networks.
    num_components: logistics per mixture-CDF coupling (the paper: 32 for CIFAR-10).
    dequantization_layers, dequantization_hidden_channels: the noise flow's couplings and
      their width.
    learned_prior: Glow's learned prior for the factored-out channels.
    logit_alpha: alpha of the logit preprocessing.
    num_classes: K for a class-conditional Flow++ (as in `glow`): the label reaches every
      coupling network and the learned prior; the dequantizer sees only the image.
    seed: seed of the 1x1 convolutions' random rotations.
    recompute_gradients: gradient checkpointing of the mixture-CDF couplings' networks (as
      in `glow`): less activation memory per training step, about one more forward pass of
      each network in the backward pass.
    checkerboard: the dequantizer's checkerboard couplings, "masked" (the paper's) or
      "packed" (half their networks' work; as `realnvp`'s, and a different flow).

  Example:
    >>> flow = tff.models.flowpp([4, 4, 1], num_bins=4, levels=1, depth=1, hidden_channels=4,
    ...                          num_components=2, dequantization_layers=1,
    ...                          dequantization_hidden_channels=4)
    >>> x = np.random.randint(0, 4, [2, 4, 4, 1]).astype(np.float32)
    >>> tff.bijectors.initialize_act_norms(flow, x)
    1
    >>> flow.log_prob(x).shape  # the variational dequantization bound
    TensorShape([2])

  References:
    Ho, Chen, Srinivas, Duan, Abbeel. Flow++: Improving Flow-Based Generative Models with
    Variational Dequantization and Architecture Design. ICML 2019.
    https://arxiv.org/abs/1902.00275
  """
  _parts.check_count(levels=levels, depth=depth, num_components=num_components,
                     hidden_channels=hidden_channels)
  image_shape = image.checked_image_shape(image_shape, 2 ** levels, "levels")
  mixture = transformers.MixtureCDFLogit(num_components, affine=True)
  context_shape = image.label_context(num_classes)

  def coupling(shape, tag):
    return bijectors.Coupling(shape, "channel", network="glow", transform=mixture,
                              hidden_channels=hidden_channels,
                              conditional_event_shape=context_shape,
                              recompute_gradients=recompute_gradients, dtype=dtype,
                              validate_args=validate_args, name=f"{name}_{tag}_coupling")

  layers = image.multi_scale(image_shape, levels, depth, coupling, True, learned_prior, seed,
                             dtype, validate_args, name, context_shape)
  dequantization = bijectors.VariationalDequantization(
      num_bins, image_shape, num_layers=dequantization_layers,
      hidden_channels=dequantization_hidden_channels, checkerboard=checkerboard, dtype=dtype,
      validate_args=validate_args, name=f"{name}_dequantization")
  return image.image_flow(image_shape, layers, dequantization, logit_alpha, dtype,
                         validate_args, name, num_classes)
