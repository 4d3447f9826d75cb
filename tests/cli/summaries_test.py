"""cli.summaries: TensorBoard scalars at every epoch's optimizer step, and sample grids,
written without the TensorBoard package and read back by TensorBoard's own event reader."""

import keras
import numpy as np
import tensorflow as tf
from tensorboard.backend.event_processing import event_accumulator

import tfp_flows as tff
from tests import tiny_models
from tfp_flows.cli import summaries


def read_events(log_dir):
  """`{tag: [(step, value or image shape)]}`, as TensorBoard's plugins see the logs."""
  events = event_accumulator.EventAccumulator(log_dir, size_guidance={"tensors": 0})
  events.Reload()
  found = {}
  for tag in events.Tags()["tensors"]:
    plugin = events.SummaryMetadata(tag).plugin_data.plugin_name
    for event in events.Tensors(tag):
      array = tf.make_ndarray(event.tensor_proto)
      if plugin == "images":  # [width, height, PNG...] as strings.
        content = [int(array[1]), int(array[0])] + tf.io.decode_png(array[2]).shape.as_list()
      else:
        assert plugin == "scalars", (tag, plugin)
        content = float(array)
      found.setdefault(tag, []).append((event.step, content))
  return found


def test_scalars_and_sample_grids_at_each_epoch(tmp_path):
  x = tiny_models.data("realnvp", n=8)
  model = tff.keras.FlowModel(tiny_models.build("realnvp"), seed=0)
  model.compile(keras.optimizers.Adam(1e-3))

  def sample_grid(model):
    return summaries.image_grid(model.sample(5, seed=1), tiny_models.IMAGE_BINS)

  log = summaries.TensorBoardLog(str(tmp_path), sample_grid)
  history = model.fit(x, batch_size=4, epochs=2, verbose=0, callbacks=[log]).history
  events = read_events(str(tmp_path))
  assert [step for step, _ in events["loss"]] == [2, 4]
  np.testing.assert_allclose([value for _, value in events["loss"]], history["loss"],
                             rtol=1e-6)
  assert [step for step, _ in events["bits_per_dim"]] == [2, 4]
  height, width, channels = tiny_models.IMAGE  # 5 samples: 2 rows of 3 4x4x2 images.
  grid = [2 * height, 3 * width]
  assert [shape for _, shape in events["samples"]] == [grid + grid + [channels]] * 2


def test_image_grid_tiles_row_by_row_and_scales_levels_to_one():
  images = np.arange(3).reshape([3, 1, 1, 1]) * np.ones([3, 2, 2, 1])  # Levels 0, 1, 2.
  grid = summaries.image_grid(images, num_bins=3, columns=2)
  assert grid.shape == (1, 4, 4, 1)
  np.testing.assert_array_equal(grid[0, :, :, 0], [[0., 0., .5, .5], [0., 0., .5, .5],
                                                   [1., 1., 0., 0.], [1., 1., 0., 0.]])
