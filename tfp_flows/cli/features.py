"""What a flow sees of the data, how its samples map back, and the log-det between them.

  image flows (realnvp, glow) on integer images: the images as they are (the flows
    dequantize them themselves).
  vector flows (maf, iaf, mixture_cdf, nsf) on points: the points as they are; the flow
    standardises them itself with the training set's mean and standard deviation (the
    builders' `standardize`; MAF reaches 0.57 nats/dim on two moons this way in 3,000
    steps, 0.70 without). Runs recorded before the builders took `standardize` have a
    "standardization" in run.json, and their view standardises, `y = (x - shift) / scale`.
  vector flows on integer images: the images flattened and dequantized,
    `y = (x + u) / K - 0.5`, `u ~ U[0, 1)^D`, a density of data scaled to [0, 1) (the
    shift has no log-det), so `FlowModel(num_bins=K)` reports bits/dim of the images.

`log_prob(model, x) = model.log_prob(encode(x)) + log_det` is the log-density of the data
(for images, the dequantization bound on `log P(x)`).
"""

import dataclasses
import math

import numpy as np
import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class View:
  """How a flow (`image_model` or not) sees data of `event_shape` with `num_bins` levels.

  `shift` and `scale` standardise points (`num_bins` None) for vector flows.
  """
  event_shape: tuple
  num_bins: int | None
  image_model: bool
  shift: tuple | None = None
  scale: tuple | None = None

  @property
  def flattens_images(self):
    """True for a vector flow on integer images."""
    return not self.image_model and self.num_bins is not None

  @property
  def flow_event_shape(self):
    if self.image_model:
      return list(self.event_shape)
    return [int(np.prod(self.event_shape))]

  @property
  def flow_num_bins(self):
    """`num_bins` of `FlowModel`: K for flattened images, else None."""
    return self.num_bins if self.flattens_images else None

  @property
  def log_det(self):
    """`log |dy/dx|` summed over an example: data log-density minus flow log-density."""
    if self.flattens_images:
      return -self.flow_event_shape[0] * math.log(self.num_bins)
    if self.scale is not None:
      return -float(np.sum(np.log(self.scale)))
    return 0.

  def encode(self, x, noise=None):
    """What the flow sees of data `x`; `noise` is `u` for images (drawn here when None)."""
    if self.flattens_images:
      x = tf.convert_to_tensor(x, tf.float32)
      if noise is None:
        noise = tf.random.uniform(tf.shape(x))
      return tf.reshape((x + noise) / self.num_bins - 0.5, [-1, *self.flow_event_shape])
    if self.scale is not None:
      return (x - np.float32(self.shift)) / np.float32(self.scale)
    return x

  def decode(self, y):
    """Data from flow samples `y`: integer levels for flattened images."""
    y = np.asarray(y)
    if self.flattens_images:
      levels = np.clip(np.floor((y + 0.5) * self.num_bins), 0, self.num_bins - 1)
      return levels.reshape([-1, *self.event_shape])
    if self.scale is not None:
      return y * np.float32(self.scale) + np.float32(self.shift)
    return y

  def log_prob(self, model, x, noise=None):
    """Log-density of data `x` under the FlowModel `model` (see the module docstring)."""
    return model.log_prob(self.encode(x, noise)) + self.log_det


def standardization(points):
  """`{"shift": mean, "scale": std}` of `points` `[N, D]`, per coordinate, as lists."""
  return {"shift": np.mean(points, axis=0).tolist(),
          "scale": np.maximum(np.std(points, axis=0), 1e-6).tolist()}
