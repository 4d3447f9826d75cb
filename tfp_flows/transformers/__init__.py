"""Elementwise invertible maps whose parameters come from elsewhere (no variables).

Each transformer maps `z -> x` elementwise given `params: [..., num_params]` and returns the
elementwise log-derivative with the value (`forward_and_log_det`, `inverse_and_log_det`);
see `base.Transformer`. The bijectors take one by object or by name (`get`).
"""

from tfp_flows.transformers.affine import Additive
from tfp_flows.transformers.affine import Affine
from tfp_flows.transformers.affine import GlowAffine
from tfp_flows.transformers.base import Transformer
from tfp_flows.transformers.mixture_cdf import MixtureCDFLogit
from tfp_flows.transformers.spline import RationalQuadraticSpline

NAMES = ("affine", "glow_affine", "additive", "spline", "mixture_cdf", "flowpp_mixture_cdf")


def get(transform, num_params=None):
  """A transformer from a name, or `transform` itself when it is already one.

  Names: "affine" (`Affine()`), "glow_affine", "additive", "spline"
  (`RationalQuadraticSpline`), "mixture_cdf" (`MixtureCDFLogit`) and
  "flowpp_mixture_cdf" (`MixtureCDFLogit(affine=True)`). With `num_params` (a
  conditioner's output size per element), the spline's number of bins and the mixtures'
  number of components are the ones that use exactly that many parameters; without it, the
  defaults (8 bins, 5 components).

  Example:
    >>> type(tff.transformers.get("spline", num_params=11)).__name__
    'RationalQuadraticSpline'
    >>> tff.transformers.get("spline", num_params=11).num_params
    11
    >>> tff.transformers.get("mixture_cdf").num_params  # 5 components by default
    15
  """
  if isinstance(transform, Transformer):
    return transform
  if not isinstance(transform, str) or transform not in NAMES:
    raise ValueError(f"Expected transform in {NAMES} or a tff.transformers.Transformer. "
                     f"Received: transform={transform!r}")
  if transform == "affine":
    return Affine()
  if transform == "glow_affine":
    return GlowAffine()
  if transform == "additive":
    return Additive()
  if transform == "spline":
    return RationalQuadraticSpline(_size(num_params, 3, 1, 8, transform))
  extra = 2 if transform == "flowpp_mixture_cdf" else 0
  return MixtureCDFLogit(_size(num_params, 3, -extra, 5, transform), affine=bool(extra))


def _size(num_params, per_size, offset, default, transform):
  """`n` with `per_size * n - offset == num_params`; `default` when `num_params` is None."""
  if num_params is None:
    return default
  size, remainder = divmod(num_params + offset, per_size)
  if remainder or size < 1:
    count = f"{per_size} * n" + (f" - {offset}" if offset > 0 else
                                 f" + {-offset}" if offset < 0 else "")
    raise ValueError(f"Expected a conditioner with {count} params per element (n >= 1) for "
                     f"transform={transform!r}. Received: params={num_params}")
  return size


__all__ = ["Additive", "Affine", "GlowAffine", "MixtureCDFLogit", "NAMES",
           "RationalQuadraticSpline", "Transformer", "get"]
