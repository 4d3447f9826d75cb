"""The private parts of TensorFlow Probability that tfp_flows uses: all of them, in one file.

Each has no public equivalent in TFP 0.25; a TFP upgrade that moves one breaks only this
file, and the tests that cover each use (one network pass per `log_prob`; variables seen
through a wrapped flow) say so at once.

- `BijectorCacheWithGreedyAttrs`: TFP's bijector cache that also keeps what a call returns
  beside its output (the pattern of TFP's own FFJORD), so a bijector computes its log-det
  in the same network pass as its output and `log_prob` costs one pass per layer, not two.
- `TransformedDistribution`: the non-`CompositeTensor` transformed distribution that
  `tfd.TransformedDistribution(d, b)` itself returns for bijectors that are not composite
  (ours hold Keras networks). The public class is composite, and a composite distribution
  hides the variables of its bijector from any distribution built on top of it.

One more private contract lives elsewhere: `FlowDistribution` overrides TFP's
`_call_sample_n` (what `sample` calls; TFP's transformed distribution overrides it too, so
`_sample_n` is never reached) and `_sample_and_log_prob`, to apply the temperature in both.
"""

# pylint: disable=unused-import,protected-access
from tensorflow_probability.python.distributions.transformed_distribution import (
    _TransformedDistribution as TransformedDistribution)
from tensorflow_probability.python.internal.cache_util import BijectorCacheWithGreedyAttrs
