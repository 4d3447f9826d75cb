"""`tfp.bijectors.Bijector` subclasses that compose with everything in TFP."""

from tfp_flows.bijectors.act_norm import ActNorm
from tfp_flows.bijectors.act_norm import initialize_act_norms
from tfp_flows.bijectors.affine_coupling import AffineCoupling
from tfp_flows.bijectors.factor_out import FactorOut
from tfp_flows.bijectors.inverse_autoregressive import InverseAutoregressiveFlow
from tfp_flows.bijectors.invertible_1x1_conv import Invertible1x1Conv
from tfp_flows.bijectors.logit_preprocessing import LogitPreprocessing
from tfp_flows.bijectors.masked_autoregressive import MaskedAutoregressiveFlow
from tfp_flows.bijectors.mixture_cdf import MixtureCDF
from tfp_flows.bijectors.squeeze import Squeeze
from tfp_flows.bijectors.uniform_dequantization import UniformDequantization
