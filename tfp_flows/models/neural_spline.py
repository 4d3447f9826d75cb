"""Neural spline flows on vectors: autoregressive (MAF order) or coupling layers of
monotone rational-quadratic splines."""

import tensorflow as tf
import tensorflow_probability as tfp

from tfp_flows import bijectors
from tfp_flows import nn
from tfp_flows import transformers
from tfp_flows.models import _parts
from tfp_flows.models import autoregressive
from tfp_flows.models import recipe
from tfp_flows.nn import _precision

tfb = tfp.bijectors


@recipe.builder
def nsf(event_size, num_layers=5, hidden_units=(128, 128), num_bins=8, bound=5.0,
        coupling=False, conditional_event_shape=None, activation="relu", base="normal",
        standardize=None, dtype=tf.float32, seed=None, validate_args=False, name="nsf"):
  """Neural spline flow (Durkan et al. 2019): `num_layers` rational-quadratic spline layers.

  Each layer maps every coordinate through a monotone rational-quadratic spline of
  `num_bins` bins on `[-bound, bound]` (identity outside, with slope 1 at the edges), whose
  parameters come from a network that starts at zero output, so the flow starts as the
  identity. With `coupling=False` the layers are MAF layers (a MADE per layer, density in
  one pass, sampling in D, orders reversed between layers); with `coupling=True` they are
  coupling layers ("half" mask, alternating halves; an MLP per layer; both directions one
  pass). Returns a `FlowDistribution` over `[event_size]` vectors with a standard normal
  (or logistic) base.

  Args:
    event_size: D, the data dimension (D >= 2 for couplings).
    num_layers: number of spline layers.
    hidden_units: hidden widths of each layer's MADE or MLP.
    num_bins: K, bins per spline (the paper's tabular default is 8).
    bound: B, the spline's half-width; data and intermediate values beyond it pass through
      unchanged, so standardise data to well inside it.
    coupling: coupling layers instead of autoregressive ones.
    conditional_event_shape: `[C]` for a conditional flow `p(x | c)`.
    activation: hidden activation (relu, with PyTorch-style random hidden biases: see
      `maf`).
    base: "normal" or "logistic".
    standardize: `(shift, scale)` (see `maf`): the splines see `(x - shift) / scale`,
      which keeps data of any range well inside `[-bound, bound]`.
    dtype: the flow's float dtype; under a mixed global Keras policy over it
      ("mixed_bfloat16") the networks compute in bfloat16 (`tfp_flows.nn._precision`).

  Example:
    >>> flow = tff.models.nsf(2, num_layers=2, hidden_units=[8], num_bins=4, coupling=True)
    >>> x = tf.random.normal([3, 2])
    >>> # Zero-initialised networks: the flow starts as its standard normal base.
    >>> bool(np.allclose(flow.log_prob(x), tfd.MultivariateNormalDiag(tf.zeros(2)).log_prob(x),
    ...                  atol=1e-5))
    True

  References:
    Durkan, Bekasov, Murray, Papamakarios. Neural Spline Flows. NeurIPS 2019.
    https://arxiv.org/abs/1906.04032
  """
  _parts.check_count(event_size=event_size, num_layers=num_layers, num_bins=num_bins)
  if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not 0 < bound < float("inf"):
    raise ValueError(f"Expected bound to be a finite number > 0. Received: bound={bound!r}")
  spline = transformers.RationalQuadraticSpline(num_bins, float(bound))
  if not coupling:
    return autoregressive.autoregressive_flow(
        bijectors.MaskedAutoregressiveFlow, event_size, num_layers, hidden_units, spline,
        conditional_event_shape, activation, "fan_in_uniform", base, standardize, dtype, seed,
        validate_args, name)
  if event_size < 2:
    raise ValueError(f"Expected event_size >= 2 for coupling=True. Received: "
                     f"event_size={event_size}")
  dtype = _parts.float_dtype(dtype)
  layers = []  # In forward (base -> data) order.
  for i in range(num_layers):
    parity = i % 2
    in_shape, out_shape = bijectors.coupling.network_shapes([event_size], "half", parity)
    network = nn.CouplingMLP(in_shape[0], hidden_units, params=spline.num_params,
                             activation=activation, output_size=out_shape[0],
                             conditional_event_shape=conditional_event_shape,
                             kernel_initializer=_parts.kernel_initializer(seed, i),
                             hidden_bias_initializer="fan_in_uniform",
                             seed=None if seed is None else seed + i,
                             dtype=_precision.layer_policy(dtype), name=f"{name}_network_{i}")
    layers.append(bijectors.Coupling([event_size], "half", parity, network, transform=spline,
                                     conditional_event_shape=conditional_event_shape,
                                     validate_args=validate_args, name=f"{name}_{i}"))
  return _parts.vector_flow(layers, base, event_size, dtype, standardize, validate_args, name)
