"""What `FlowModel` accepts as data: checks up front, in the user's terms.

Keras calls `train_step` on whatever the data adapter yields and retraces when the shapes
change, so the checks here run at every trace: a second `fit` on data of another shape gets
the same clear error as the first, not a failure deep in the graph.
"""

import contextlib

import keras
import numpy as np
import tensorflow as tf


def features(data):
  """The `x` of a batch that may come as `(x,)` or `(x, y)`."""
  return data[0] if isinstance(data, (tuple, list)) else data


def checked_features(data, event_shape, dtype):
  """`x` of a batch, checked to be `[batch, *event_shape]` floats, in the flow's dtype."""
  x = tf.convert_to_tensor(features(data))
  event_shape = tf.TensorShape(event_shape)
  expected = f"[batch, {', '.join(str(d) for d in event_shape)}]"
  if not x.dtype.is_floating:
    raise ValueError(f"Expected data of a floating dtype (the flow's {dtype.name}). "
                     f"Received: x.dtype={x.dtype.name}")
  if (x.shape.rank is not None and
      (x.shape.rank != event_shape.rank + 1 or not x.shape[1:].is_compatible_with(event_shape))):
    raise ValueError(f"Expected data of shape {expected} for this flow. "
                     f"Received: x.shape={x.shape}")
  if not x.shape[1:].is_fully_defined():  # Keras retraced with unknown sizes: check them.
    check = tf.debugging.assert_equal(
        tf.shape(x)[1:], tf.constant(event_shape.as_list(), tf.int32),
        message=f"Expected data of shape {expected} for this flow. Received: x.shape[1:] =")
    with tf.control_dependencies([check]):
      x = tf.identity(x)
  return tf.cast(x, dtype)  # Keras's adapters cast to floatx; the flow's own dtype rules.


def check_not_empty(x):
  """`ValueError` for data known to hold no example (an empty array or dataset)."""
  if isinstance(x, tf.data.Dataset):
    if int(x.cardinality()) == 0:
      raise ValueError("Expected a dataset with at least one batch. Received: an empty dataset.")
    return
  if x is not None and not callable(x) and hasattr(x, "shape") and len(x.shape) and not x.shape[0]:
    raise ValueError(f"Expected at least one example. Received: x.shape={tuple(x.shape)}")


def first_batch(x, batch_size):
  """The first batch `fit` will see (for ActNorm's data-dependent start)."""
  if isinstance(x, tf.data.Dataset):
    return features(next(iter(x)))
  return np.asarray(features(x))[:batch_size or 32]


@contextlib.contextmanager
def floatx(dtype):
  """Keras's float dtype set to `dtype` for the block.

  Keras's data adapters cast every float array they are given to `keras.config.floatx()`;
  a float64 flow fitted on float64 arrays would otherwise see float32 data.
  """
  before = keras.config.floatx()
  keras.config.set_floatx(tf.as_dtype(dtype).name)
  try:
    yield
  finally:
    keras.config.set_floatx(before)
