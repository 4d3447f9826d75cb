"""What `FlowModel` accepts as data: checks up front, in the user's terms.

Keras calls `train_step` on whatever the data adapter yields and retraces when the shapes
change, so the checks here run at every trace: a second `fit` on data of another shape gets
the same clear error as the first, not a failure deep in the graph.
"""

import contextlib

import keras
import numpy as np
import tensorflow as tf


def split(data):
  """`(x, context)` of a batch: `x`, `(x,)`, `(x, context)` (Keras's `(x, y)`; a third
  entry, Keras's sample weights, is refused), or `{"x": ..., "context": ...}` (context
  optional), also inside a 1-tuple. `context` is `None` when the batch has none."""
  if isinstance(data, (tuple, list)) and len(data) == 1:
    data = data[0]
  if isinstance(data, dict):
    unknown = sorted(set(data) - {"x", "context"})
    if "x" not in data or unknown:
      raise ValueError('Expected a batch {"x": ..., "context": ...} (context optional). '
                       f"Received: keys {sorted(data)}")
    return data["x"], data.get("context")
  if isinstance(data, (tuple, list)):
    if len(data) > 2 and data[2] is not None:
      raise ValueError("Expected batches (x,) or (x, context). Received: sample weights "
                       "(a third entry); a flow's loss weighs every example alike")
    return data[0], data[1]
  return data, None


def features(data):
  """The `x` of a batch (see `split`)."""
  return split(data)[0]


def checked_x(x, event_shape, dtype):
  """`x` checked to be `[batch, *event_shape]` floats, cast to the flow's dtype."""
  x = tf.convert_to_tensor(x)
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


def first_batch(x, y, batch_size):
  """`(x, context)` of the first batch `fit` will see (for ActNorm's data-dependent start);
  `y` is `fit`'s `y` (the context of array data)."""
  if isinstance(x, tf.data.Dataset):
    return split(next(iter(x)))
  if isinstance(x, dict):
    x, y = split(x)
  n = batch_size or 32
  return np.asarray(x)[:n], None if y is None else np.asarray(y)[:n]


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
