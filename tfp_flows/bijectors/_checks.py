"""Input checks shared by the bijectors: static shapes and dtypes up front, finiteness
under `validate_args=True`."""

import tensorflow as tf


def checked_input(x, dtype, event_shape, validate_args, name):
  """Every bijector's input check: dtype and event shape up front, finiteness at run time."""
  check_dtype(x, dtype, name)
  check_event_shape(x, event_shape, name)
  return maybe_assert_finite(x, validate_args, name)


def check_event_shape(x, event_shape, name):
  """Raises `ValueError` unless `x` is `[..., *event_shape]` (static shape; `None` = any)."""
  event_shape = list(event_shape)
  rank = x.shape.rank
  if rank is not None and rank < len(event_shape):
    raise ValueError(
        f"Expected {name} of shape [..., {_dims(event_shape)}]. "
        f"Received: {name}.shape={x.shape}")
  if rank is not None and event_shape:
    got = x.shape[rank - len(event_shape):].as_list()
    if any(g is not None and e is not None and g != e for g, e in zip(got, event_shape)):
      raise ValueError(
          f"Expected {name} of shape [..., {_dims(event_shape)}]. "
          f"Received: {name}.shape={x.shape}")


def _dims(event_shape):
  return ", ".join("?" if d is None else str(d) for d in event_shape)


def check_dtype(x, dtype, name):
  """Raises `ValueError` unless `x` has the bijector's float dtype (no silent casts)."""
  if x.dtype != dtype:
    raise ValueError(
        f"Expected {name} of dtype {dtype.name}. Received: {name}.dtype={x.dtype.name}")


def maybe_assert_finite(x, validate_args, name):
  """With `validate_args`, fails with `InvalidArgumentError` on NaN/Inf in `x`."""
  if not validate_args:
    return x
  return tf.debugging.assert_all_finite(x, f"Expected finite values in {name}.")


def variables_of(layer):
  """The `tf.Variable`s behind a Keras 3 layer's weights.

  Keras 3 variables are invisible to `tf.Module`; keeping their backing `tf.Variable`s on
  the bijector makes `bijector.trainable_variables` (and a `TransformedDistribution`'s)
  list them, so hand-written `tf.GradientTape` loops train them.
  """
  return tuple(v.value for v in layer.trainable_weights)


def check_transform_params(made, transform):
  """Raises `ValueError` unless the conditioner outputs what the transformer consumes."""
  if made.params != transform.num_params:
    raise ValueError(
        f"Expected a MADE with params={transform.num_params} for {transform!r}. "
        f"Received: made.params={made.params}")
