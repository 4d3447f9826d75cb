"""Conditioners: the Keras 3 layers that hold a flow's weights."""

from tfp_flows.nn.made import MADE
from tfp_flows.nn.coupling_networks import CouplingMLP
from tfp_flows.nn.coupling_networks import CouplingResNet
from tfp_flows.nn.coupling_networks import GlowNetwork
from tfp_flows.nn.coupling_networks import GlowPriorNetwork

__all__ = ["CouplingMLP", "CouplingResNet", "GlowNetwork", "GlowPriorNetwork", "MADE"]
