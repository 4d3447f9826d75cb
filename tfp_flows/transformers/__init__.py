"""Elementwise invertible maps whose parameters come from elsewhere (no variables)."""

from tfp_flows.transformers.affine import Affine
from tfp_flows.transformers.mixture_cdf import MixtureCDFLogit


def get(transform, num_params=None):
  """Returns a transformer from a name ("affine", "mixture_cdf") or passes one through.

  For "mixture_cdf" the number of components is `num_params // 3` (the conditioner's
  output size decides it).
  """
  if transform == "affine":
    return Affine()
  if transform == "mixture_cdf":
    if num_params is None or num_params % 3 or num_params < 3:
      raise ValueError(
          "Expected a conditioner with 3 * num_components params per dimension for "
          f"transform='mixture_cdf'. Received: params={num_params}")
    return MixtureCDFLogit(num_params // 3)
  if isinstance(transform, str):
    raise ValueError(
        f"Expected transform in ('affine', 'mixture_cdf') or a transformer object. "
        f"Received: transform={transform!r}")
  return transform
