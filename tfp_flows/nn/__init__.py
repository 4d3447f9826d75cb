"""Conditioners: the Keras 3 layers that hold a flow's weights."""

from tfp_flows.nn.made import MADE
