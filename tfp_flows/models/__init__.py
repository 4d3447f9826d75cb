"""Builders of ready-made flows; each returns a `tff.distributions.FlowDistribution`.

`BUILDERS` is the table of them all (name -> builder); `FlowModel.save` records which one
built a flow and with what arguments, and loading calls it again.
"""

from tfp_flows.models.autoregressive import bijector_kwargs
from tfp_flows.models.autoregressive import iaf
from tfp_flows.models.autoregressive import maf
from tfp_flows.models.autoregressive import mixture_cdf_flow
from tfp_flows.models.flowpp import flowpp
from tfp_flows.models.image import glow
from tfp_flows.models.image import realnvp
from tfp_flows.models.neural_spline import nsf
from tfp_flows.models.recipe import BUILDERS

__all__ = ["BUILDERS", "bijector_kwargs", "flowpp", "glow", "iaf", "maf", "mixture_cdf_flow",
           "nsf", "realnvp"]
