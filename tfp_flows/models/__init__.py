"""Builders of ready-made flows; each returns a `tfd.TransformedDistribution`."""

from tfp_flows.models.autoregressive import bijector_kwargs
from tfp_flows.models.autoregressive import iaf
from tfp_flows.models.autoregressive import maf
from tfp_flows.models.autoregressive import mixture_cdf_flow
from tfp_flows.models.image import glow
from tfp_flows.models.image import realnvp
