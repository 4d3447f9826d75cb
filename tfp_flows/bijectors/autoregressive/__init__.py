"""Autoregressive flows on vectors: MAF (density in one pass) and IAF (sampling in one)."""

from tfp_flows.bijectors.autoregressive.inverse_autoregressive import InverseAutoregressiveFlow
from tfp_flows.bijectors.autoregressive.masked_autoregressive import MaskedAutoregressiveFlow

__all__ = ["InverseAutoregressiveFlow", "MaskedAutoregressiveFlow"]
