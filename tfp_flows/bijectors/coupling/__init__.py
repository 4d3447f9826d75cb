"""Coupling layers: half the input conditions an elementwise transform of the other half."""

from tfp_flows.bijectors.coupling.affine_coupling import AffineCoupling
from tfp_flows.bijectors.coupling.coupling import Coupling
from tfp_flows.bijectors.coupling.coupling import coupling_mask
from tfp_flows.bijectors.coupling.coupling import network_shapes

__all__ = ["AffineCoupling", "Coupling", "coupling_mask", "network_shapes"]
