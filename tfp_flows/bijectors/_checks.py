"""The input check every bijector calls: dtype and event shape up front (static), finiteness
under `validate_args=True` (at run time). Errors name the argument and what it received."""

import tensorflow as tf

FLOATS = (tf.float16, tf.bfloat16, tf.float32, tf.float64)


def checked_input(x, dtype, event_shape, validate_args, name):
  """`x`, after checking it, with a finiteness assertion attached under `validate_args`.

  Args:
    x: the tensor a bijector method received.
    dtype: the one `tf.DType` allowed, or a tuple of allowed dtypes (any float: `FLOATS`).
    event_shape: the trailing shape `x` must end with; `None` entries match any size.
    validate_args: the bijector's `validate_args`.
    name: the argument's name in messages ("x", "z").

  Raises:
    ValueError: for another dtype (no silent casts) or another event shape.
  """
  allowed = dtype if isinstance(dtype, tuple) else (tf.as_dtype(dtype),)
  if x.dtype not in allowed:
    expected = ("a floating dtype" if allowed == FLOATS else
                "dtype " + " or ".join(d.name for d in allowed))
    raise ValueError(f"Expected {name} of {expected}. Received: {name}.dtype={x.dtype.name}")
  x = _checked_event_shape(x, list(event_shape), name)
  if not validate_args:
    return x
  return tf.debugging.assert_all_finite(x, f"Expected finite values in {name}.")


def _checked_event_shape(x, event_shape, name):
  """`x`; a static mismatch raises here, sizes unknown when traced are checked at run time
  (else a reshape inside the bijector could silently regroup the numbers)."""
  dims = ", ".join("?" if d is None else str(d) for d in event_shape)
  message = f"Expected {name} of shape [..., {dims}]. Received: {name}.shape={x.shape}"
  rank = x.shape.rank
  if rank is None:
    return x
  got = x.shape[rank - len(event_shape):].as_list() if event_shape else []
  if rank < len(event_shape) or any(
      g is not None and e is not None and g != e for g, e in zip(got, event_shape)):
    raise ValueError(message)
  unknown = [i for i, (g, e) in enumerate(zip(got, event_shape)) if g is None and e is not None]
  if not unknown:
    return x
  offset = rank - len(event_shape)
  actual = tf.gather(tf.shape(x), [offset + i for i in unknown])
  check = tf.debugging.assert_equal(actual, tf.constant([event_shape[i] for i in unknown]),
                                    message=message)
  with tf.control_dependencies([check]):
    return tf.identity(x)


def variables_of(layer):
  """The `tf.Variable`s behind a Keras 3 layer's weights.

  Keras 3 variables are invisible to `tf.Module`; keeping their backing `tf.Variable`s on
  the bijector makes `bijector.trainable_variables` (and a `TransformedDistribution`'s)
  list them, so hand-written `tf.GradientTape` loops train them.
  """
  return tuple(v.value for v in layer.trainable_weights)
