"""Block-triangular masked matmuls: MADE's products without its masks' zero blocks.

Take MADE's inputs and outputs in the order (position `k` has degree `k + 1`); its hidden
units already are (`made.hidden_degrees` does not decrease). Every mask is then
block-(upper-)triangular in the `[fan_in, fan_out]` layout: unit `j` feeds unit `k` only
when `deg_in[j] <= deg_out[k]` (`<` into the outputs). Group the columns into blocks of
contiguous degrees (the same degree ranges in every layer); block `c`, of largest degree
`m_c`, reads only the first `r_c = #{j: deg_in[j] <= m_c}` rows (`< m_c` into the outputs):

  x @ (W * M) = concat_c( x[:, :r_c] @ (W * M)[:r_c, block_c] )

exactly: the skipped terms are products with zeros. It costs `sum_c r_c * n_c`
multiply-adds for `fan_in * fan_out`, about `(G + 1) / 2G` of it with `G` blocks.

A prefix of the columns (`stop`) gives what the sequential passes of MAF need: outputs of
positions `[a, b)` read hidden units of degree `< b` only, and those read inputs `< b - 1`.

Everything here is static (numpy) but `sorted_weights` and `matmul`.
"""

import numpy as np
import tensorflow as tf


def degree_edges(max_degree, num_blocks):
  """`G + 1` increasing degree edges; block `c` holds the degrees in `(e_c, e_{c+1}]`.

  The first block also holds degree 0 (the hidden units of a one-dimensional MADE).
  """
  edges = np.unique(np.round(np.linspace(0, max_degree, min(num_blocks, max_degree) + 1)))
  edges = edges.astype(np.int64)
  edges[0] = -1
  return edges


def slabs(degrees_in, degrees_out, edges, strict, start=0, stop=None):
  """`[(c0, c1, rows)]`: the nonzero slabs `[:rows, c0:c1]` of a mask, columns `[start, stop)`.

  `degrees_in: [fan_in]`, `degrees_out: [fan_out]`, both non-decreasing; the mask is
  `deg_out > deg_in` if `strict` else `>=`. Empty slabs (no column) are left out.
  """
  stop = len(degrees_out) if stop is None else stop
  side = "left" if strict else "right"
  result = []
  for low, high in zip(edges[:-1], edges[1:]):
    c0, c1 = np.searchsorted(degrees_out, [low, high], side="right")
    c0, c1 = max(int(c0), start), min(int(c1), stop)
    if c1 > c0:
      rows = int(np.searchsorted(degrees_in, degrees_out[c1 - 1], side=side))
      result.append((c0, c1, rows))
  return result


def sorted_weights(kernels, biases, conditional_kernels, order, params):
  """The masked kernels, biases and context kernels with inputs and outputs in the order.

  `order: [D]` the dimension at each position (`argsort(degrees)`); `kernels` (already
  masked: permuting after the product keeps the kernels' gradients dense): the first has
  one row, the last, `biases[-1]` and the context output kernel `params` columns, per
  dimension. Hidden units stay as they are.
  """
  if np.array_equal(order, np.arange(len(order))):
    return list(kernels), list(biases), list(conditional_kernels)

  def columns(w):  # [..., D * params] -> the same, dimensions in the order.
    shape = tf.shape(w)
    w = tf.reshape(w, tf.concat([shape[:-1], [len(order), params]], 0))
    return tf.reshape(tf.gather(w, order, axis=-2), shape)

  kernels = [tf.gather(kernels[0], order)] + list(kernels[1:])
  kernels[-1] = columns(kernels[-1])
  biases = list(biases[:-1]) + [columns(biases[-1])]
  conditional_kernels = list(conditional_kernels)
  if conditional_kernels:
    conditional_kernels[1] = columns(conditional_kernels[1])
  return kernels, biases, conditional_kernels


def split(kernel, layer_slabs):
  """`[(rows, kernel[:rows, c0:c1])]`, sliced once (outside a loop)."""
  return [(rows, kernel[:rows, c0:c1]) for c0, c1, rows in layer_slabs]


def matmul(x, pieces, columns):
  """`x @ W` from `split(W, ...)` pieces: `x: [N, fan_in] -> [N, columns]`.

  A slab with no rows contributes zeros.
  """
  outs = []
  for rows, piece in pieces:
    if rows:
      outs.append(tf.matmul(x[:, :rows], piece))
    else:
      outs.append(tf.zeros(tf.stack([tf.shape(x)[0], tf.shape(piece)[1]]), x.dtype))
  if not outs:
    return tf.zeros(tf.stack([tf.shape(x)[0], columns]), x.dtype)
  return outs[0] if len(outs) == 1 else tf.concat(outs, -1)
