"""Test NLL with seeded dequantization noise, so evaluating a saved model repeats it exactly.

For integer images the NLL is the dequantization bound on `-log P(x)`, averaged over
`draws` noise draws. The noise of draw `d` on batch `b` comes from the seed
`[seed, 100000 d + b]`, whatever the model: a stateless seed of the image flows' own
`UniformDequantization`, or a numpy seed of `View.encode`'s noise for vector flows.
Continuous points need no noise: one draw.
"""

import numpy as np
import tensorflow as tf

import tfp_flows as tff

_BATCH = 512


def test_nll(model, view, x, draws, seed, labels=None):
  """Mean NLL of the data `x` in nats per example under the FlowModel `model`.

  It is of the data as they are (`View.log_prob`), whatever the flow sees: the
  dequantization bound for images, the raw coordinates for points; given the `labels`
  for a class-conditional flow.
  """
  if view.num_bins is None:
    draws = 1
  totals = []
  for draw in range(draws):
    for start in range(0, len(x), _BATCH):
      batch_seed = [seed, draw * 100_000 + start // _BATCH]
      batch_labels = None if labels is None else labels[start:start + _BATCH]
      totals.append(-tf.reduce_sum(_log_prob(model, view, x[start:start + _BATCH], batch_seed,
                                             batch_labels)))
  return float(tf.add_n(totals)) / (draws * len(x))


def accuracy(model, x, labels, seed):
  """The fraction of `x` whose `argmax_k log p(x | k)` is its label (one noise draw per
  image, the same for every class)."""
  hits = 0
  for start in range(0, len(x), _BATCH):
    per_class = model.log_prob_per_class(
        tf.constant(x[start:start + _BATCH]), seed=tf.constant([seed, start // _BATCH]))
    hits += int(np.sum(np.argmax(per_class, axis=-1) == labels[start:start + _BATCH]))
  return hits / len(x)


def summary(nll, view):
  """`{"test_nll", "test_nats_per_dim", "test_bits_per_dim"}` from `test_nll`'s value."""
  shape = view.flow_event_shape
  return {"test_nll": nll,
          "test_nats_per_dim": float(tff.metrics.nats_per_dim(-nll, shape)),
          "test_bits_per_dim": float(tff.metrics.bits_per_dim(-nll, shape))}


def describe(metrics, view):
  """One line of the test metrics."""
  given = " given the label" if "test_accuracy" in metrics else ""
  line = f"test NLL{given} {metrics['test_nll']:.6f} nats/example"
  if view.num_bins is None:
    line += f", {metrics['test_nats_per_dim']:.6f} nats/dim"
  line += f", {metrics['test_bits_per_dim']:.6f} bits/dim"
  if "test_accuracy" in metrics:
    line += f"; classifying by argmax_k log p(x | k): accuracy {metrics['test_accuracy']:.4f}"
  return line


def _log_prob(model, view, x, seed, labels=None):
  """Log-densities of the data `x` (given `labels`) under `model`, with noise drawn from
  `seed`."""
  x = tf.constant(x)
  if view.image_model:
    return model.log_prob(x, labels, seed=tf.constant(seed, tf.int32))
  noise = None
  if view.flattens_images:
    noise = np.random.default_rng(seed).uniform(size=x.shape).astype(np.float32)
  return view.log_prob(model, x, noise)

