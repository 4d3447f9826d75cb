"""PNG figures of a flow's samples, drawn by matplotlib's Agg renderer (no display).

Figures are `matplotlib.figure.Figure`s, not pyplot's: no global backend or state.

Sizes are fixed: `IMAGE_GRID_SIZE` pixels for an image grid, `POINTS_SIZE` for a 2-D
density heat map (`exp(log_prob)` on a grid) next to a scatter of samples.
"""

import csv
import math

from matplotlib import figure as mpl_figure
import numpy as np

from tfp_flows import files

_DPI = 100
IMAGE_GRID_SIZE = (600, 600)  # (width, height) in pixels.
POINTS_SIZE = (1000, 450)
LOSS_PLOT_SIZE = (1000, 400)
_DENSITY_GRID = 200  # Points per side of the heat map.


def image_grid(images, num_bins, path, title, columns=None):
  """Writes `images` `[N, H, W, C]` of levels `0..num_bins-1` as a grid, row by row:
  `columns` images a row (default: square-ish)."""
  images = np.clip(np.asarray(images, np.float32) / (num_bins - 1), 0., 1.)
  count, height, width, channels = images.shape
  cols = columns or math.ceil(math.sqrt(count))
  rows = math.ceil(count / cols)
  grid = np.ones([rows * (height + 1) + 1, cols * (width + 1) + 1, channels], np.float32)
  for i, image in enumerate(images):
    top, left = 1 + (i // cols) * (height + 1), 1 + (i % cols) * (width + 1)
    grid[top:top + height, left:left + width] = image
  figure, (axis,) = _figure(IMAGE_GRID_SIZE, 1)
  axis.imshow(grid[..., 0] if channels == 1 else grid, cmap="gray", vmin=0., vmax=1.,
              interpolation="nearest")
  axis.set_axis_off()
  axis.set_title(title)
  _save(figure, path)


def loss_curve(log_path, steps_per_checkpoint, path, title):
  """Writes the loss and bits/dim of the CSV `log_path` (`training.fit`'s: one row per
  epoch of `steps_per_checkpoint` steps; of an epoch logged twice, by a run killed after
  logging it but before its checkpoint, the last row counts) against the step."""
  rows = {}
  with open(log_path, newline="") as f:
    for row in csv.DictReader(f):
      rows[int(row["epoch"])] = row
  steps = [(epoch + 1) * steps_per_checkpoint for epoch in sorted(rows)]
  figure, (loss, bits) = _figure(LOSS_PLOT_SIZE, 2)
  for axis, key, label in ((loss, "loss", "Keras's loss (NLL of what the flow sees, nats)"),
                           (bits, "bits_per_dim", "bits/dim")):
    axis.plot(steps, [float(rows[e][key]) for e in sorted(rows)], marker=".")
    axis.set_xlabel("step")
    axis.set_title(label)
  figure.suptitle(title)
  _save(figure, path)


def points(log_prob, samples, limits, path, title):
  """Writes the density `exp(log_prob(xy))` over `limits` next to a scatter of `samples`.

  Args:
    log_prob: function from `[M, 2]` float32 points to `[M]` log-densities.
    samples: `[N, 2]` samples.
    limits: `[[x_min, x_max], [y_min, y_max]]` of both panels.
    path: PNG to write.
    title: figure title.
  """
  xs = np.linspace(*limits[0], _DENSITY_GRID, dtype=np.float32)
  ys = np.linspace(*limits[1], _DENSITY_GRID, dtype=np.float32)
  xx, yy = np.meshgrid(xs, ys)
  density = np.exp(np.asarray(log_prob(np.stack([xx.ravel(), yy.ravel()], -1))))
  figure, (left, right) = _figure(POINTS_SIZE, 2)
  left.pcolormesh(xx, yy, density.reshape(xx.shape), shading="auto")
  left.set_title("density")
  right.scatter(samples[:, 0], samples[:, 1], s=2)
  right.set_title(f"{len(samples)} samples")
  for axis in (left, right):
    axis.set_xlim(limits[0])
    axis.set_ylim(limits[1])
  figure.suptitle(title)
  _save(figure, path)


def limits_of(x, margin=0.1):
  """`[[x_min, x_max], [y_min, y_max]]` of the points `x`, widened by `margin` of the span."""
  low, high = np.min(x, axis=0), np.max(x, axis=0)
  pad = margin * (high - low)
  return [[float(a), float(b)] for a, b in zip(low - pad, high + pad, strict=True)]


def _figure(size, columns):
  """A figure of `size` (width, height) pixels and its `columns` axes."""
  figure = mpl_figure.Figure(figsize=(size[0] / _DPI, size[1] / _DPI), dpi=_DPI)
  return figure, list(figure.subplots(1, columns, squeeze=False)[0])


def _save(figure, path):
  with files.atomic_path(path) as partial:
    figure.savefig(partial, dpi=_DPI, format="png")
