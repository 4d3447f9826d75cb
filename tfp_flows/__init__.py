"""tfp_flows: normalizing flows as TensorFlow Probability bijectors.

    import tfp_flows as tff
    dist = tff.models.maf(event_size=2)   # a tfd.TransformedDistribution
"""

from tfp_flows import bijectors
from tfp_flows import conditioning
from tfp_flows import data
from tfp_flows import distributions
from tfp_flows import files
from tfp_flows import keras
from tfp_flows import metrics
from tfp_flows import models
from tfp_flows import nn
from tfp_flows import transformers

__version__ = "0.1.0"
