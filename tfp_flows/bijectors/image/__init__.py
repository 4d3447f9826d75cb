"""Image bijectors on `[H, W, C]` events: Glow's steps and the multi-scale architecture."""

from tfp_flows.bijectors.image.act_norm import ActNorm
from tfp_flows.bijectors.image.act_norm import initialize_act_norms
from tfp_flows.bijectors.image.factor_out import FactorOut
from tfp_flows.bijectors.image.invertible_1x1_conv import Invertible1x1Conv
from tfp_flows.bijectors.image.squeeze import Squeeze

__all__ = ["ActNorm", "FactorOut", "Invertible1x1Conv", "Squeeze", "initialize_act_norms"]
