"""`tfp.bijectors.Bijector` subclasses that compose with everything in TFP.

Grouped by family: `autoregressive` (MAF, IAF), `coupling` (RealNVP/Glow/NSF/Flow++
couplings), `image` (Glow's steps, squeeze, multi-scale factor-out), `preprocessing`
(dequantization, logit), the elementwise `MixtureCDF`, and `walk` (how flows nest).
"""

from tfp_flows.bijectors import walk
from tfp_flows.bijectors.autoregressive import InverseAutoregressiveFlow
from tfp_flows.bijectors.autoregressive import MaskedAutoregressiveFlow
from tfp_flows.bijectors.coupling import AffineCoupling
from tfp_flows.bijectors.coupling import Coupling
from tfp_flows.bijectors.image import ActNorm
from tfp_flows.bijectors.image import FactorOut
from tfp_flows.bijectors.image import initialize_act_norms
from tfp_flows.bijectors.image import Invertible1x1Conv
from tfp_flows.bijectors.image import Squeeze
from tfp_flows.bijectors.mixture_cdf import MixtureCDF
from tfp_flows.bijectors.preprocessing import LogitPreprocessing
from tfp_flows.bijectors.preprocessing import UniformDequantization
from tfp_flows.bijectors.preprocessing import VariationalDequantization

__all__ = ["ActNorm", "AffineCoupling", "Coupling", "FactorOut", "InverseAutoregressiveFlow",
           "Invertible1x1Conv", "LogitPreprocessing", "MaskedAutoregressiveFlow", "MixtureCDF",
           "Squeeze", "UniformDequantization", "VariationalDequantization", "autoregressive",
           "coupling", "image", "initialize_act_norms", "preprocessing", "walk"]
