"""Preprocessing bijectors: integer levels to [0, 1) (dequantization) and to the real line."""

from tfp_flows.bijectors.preprocessing.logit_preprocessing import LogitPreprocessing
from tfp_flows.bijectors.preprocessing.uniform_dequantization import UniformDequantization
from tfp_flows.bijectors.preprocessing.variational_dequantization import VariationalDequantization

__all__ = ["LogitPreprocessing", "UniformDequantization", "VariationalDequantization"]
