"""TensorBoard logs of a training run: `tensorboard --logdir WORKDIR/tensorboard`.

After every checkpoint interval: the scalars `loss` (the training NLL, nats per example)
and `bits_per_dim` of the epoch, and for image flows a grid of samples at temperature 0.7
from the same seeded latent draws each time (so the grids show training progress; one
row per class for a class-conditional flow). The step is the optimizer's step, so a resumed
run continues the curves. Written with `tf.summary.write` and TensorBoard's plugin metadata
(what `tf.summary.scalar` and `image` write), which needs no TensorBoard package: TensorFlow
2.21 no longer installs it, and only viewing the logs needs it (`pip install tensorboard`).
"""

import math

import keras
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

SAMPLES_PER_GRID = 16


class TensorBoardLog(keras.callbacks.Callback):
  """Writes the epoch's scalars (and `sample_grid(model)`, when given) under `log_dir`.

  `sample_grid(model)`: a `[1, height, width, channels]` image with values in [0, 1].
  """

  def __init__(self, log_dir, sample_grid=None):
    super().__init__()
    self.log_dir = log_dir
    self.sample_grid = sample_grid
    self._writer = None

  def on_train_begin(self, logs=None):
    self._writer = tf.summary.create_file_writer(self.log_dir)

  def on_epoch_end(self, epoch, logs=None):
    logs = logs or {}
    with self._writer.as_default(step=int(self.model.optimizer.iterations)):
      for name in ("loss", "bits_per_dim"):
        if name in logs:
          tf.summary.write(name, tf.constant(float(logs[name]), tf.float32),
                           metadata=_metadata("scalars"))
      if self.sample_grid is not None:
        tf.summary.write("samples", _png_summary(self.sample_grid(self.model)),
                         metadata=_metadata("images"))
    self._writer.flush()

  def on_train_end(self, logs=None):
    if self._writer is not None:
      self._writer.close()


def image_grid(images, num_bins, columns=None):
  """`[1, rows * H, columns * W, C]` in [0, 1] from integer images `[N, H, W, C]` with
  `num_bins` levels (blank cells pad the last row)."""
  images = np.asarray(images, np.float32) / max(num_bins - 1, 1)
  n, height, width, channels = images.shape
  columns = columns or math.ceil(math.sqrt(n))
  rows = math.ceil(n / columns)
  cells = np.zeros([rows * columns, height, width, channels], np.float32)
  cells[:n] = images
  grid = cells.reshape([rows, columns, height, width, channels]).transpose(0, 2, 1, 3, 4)
  return grid.reshape([1, rows * height, columns * width, channels])


def _metadata(plugin_name):
  """The metadata by which TensorBoard's `plugin_name` plugin ("scalars", "images") shows
  a summary (empty plugin content: its version 0)."""
  return summary_pb2.SummaryMetadata(
      plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=plugin_name))


def _png_summary(images):
  """The images plugin's tensor of `images` `[N, H, W, C]` in [0, 1]: the strings
  `[width, height, PNG of image 0, ...]`."""
  images = tf.convert_to_tensor(images, tf.float32)
  pngs = tf.map_fn(lambda image: tf.io.encode_png(tf.image.convert_image_dtype(image, tf.uint8)),
                   images, fn_output_signature=tf.string)
  size = [tf.strings.as_string(tf.shape(images)[2]), tf.strings.as_string(tf.shape(images)[1])]
  return tf.concat([tf.stack(size), pngs], 0)
