"""Mixed precision: which Keras dtype policy a flow's networks get, and their outputs' cast.

The rule (the Keras way): a flow has one dtype, `dtype` of its builder (float32 by
default): its inputs, variables, transformers, log-dets, base log-density and loss. Its
networks get the global Keras policy when that is a mixed policy whose variables are of
that dtype (`keras.mixed_precision.set_dtype_policy("mixed_bfloat16")` before building a
float32 flow): their variables stay float32 and their matmuls and convolutions run in
bfloat16 (or float16). Any other global policy is ignored: the networks get `dtype`, as
an explicit `dtype` overrides the global policy of any Keras layer. A network's outputs are
cast back to the flow's dtype before the transformer, in one place:
`bijectors._one_pass.OnePassBijector._network_params`.
"""

import keras
import tensorflow as tf


def global_mixed_policy(dtype=tf.float32):
  """The global Keras policy's name when it is mixed over `dtype` variables, else `None`."""
  policy = keras.config.dtype_policy()
  mixed = policy.compute_dtype != policy.variable_dtype
  if mixed and tf.as_dtype(policy.variable_dtype) == tf.as_dtype(dtype):
    return policy.name
  return None


def layer_policy(dtype):
  """The `dtype=` of a network of a flow of `dtype`: the mixed global policy or `dtype`."""
  return global_mixed_policy(dtype) or tf.as_dtype(dtype).name

