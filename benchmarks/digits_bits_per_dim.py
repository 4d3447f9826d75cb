"""Test bits/dim on the 8x8 digits: our Glow and RealNVP against TFP's own `tfb.Glow`.

All three see the same data (`tff.data.digits`, 1438 train / 359 test images, 17 levels),
the same preprocessing in front of the flow (`UniformDequantization(17)` then
`LogitPreprocessing(0.05)`, so every `log_prob` is the dequantized bound on log P(x)), the
same optimiser (Adam, cosine-decayed learning rate), batch, number of steps and seed, and
parameter counts within 10% of each other (printed). Our Glow and TFP's have the same
layout (2 levels x 4 steps of ActNorm, 1x1 conv, affine coupling with a 3-layer conv net);
TFP's also has its small "exit" couplings, a learned conditional prior for the factored-out
channels, which ours replaces with a standard normal. ActNorms start from the first batch
(ours through `initialize_act_norms`; TFP's on its first call, made eagerly here).

Test bits/dim is averaged over the test set and over 8 dequantization draws.

Run from the repository root (CPU, about 9 minutes for the three models):
  PYTHONPATH=. python benchmarks/digits_bits_per_dim.py
  PYTHONPATH=. python benchmarks/digits_bits_per_dim.py --steps=200   # smoke run
"""

import argparse
import time

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_flows as tff

tfb, tfd = tfp.bijectors, tfp.distributions
SHAPE = [8, 8, 1]
K = tff.data.DIGITS_NUM_BINS


def tfp_glow(hidden_channels, steps_per_level=4, levels=2, shape=SHAPE, num_bins=K):
  """TFP's `tfb.Glow` behind the same dequantization and logit as our builders."""
  glow = tfb.Glow(output_shape=shape, num_glow_blocks=levels,
                  num_steps_per_block=steps_per_level,
                  coupling_bijector_fn=lambda shape: tfb.GlowDefaultNetwork(
                      shape, num_hidden=hidden_channels),
                  exit_bijector_fn=tfb.GlowDefaultExitNetwork, seed=0)
  base = tfd.Sample(tfd.Normal(0., 1.), glow.inverse_event_shape(shape))
  chain = tfb.Chain([tff.bijectors.UniformDequantization(num_bins, name="dequantization"),
                     tff.bijectors.LogitPreprocessing(0.05), glow])
  return tfd.TransformedDistribution(base, chain)


MODELS = {
    "glow": lambda: tff.models.glow(SHAPE, levels=2, depth=4, hidden_channels=64,
                                    num_bins=K, seed=0),
    "realnvp": lambda: tff.models.realnvp(SHAPE, num_scales=2, hidden_channels=14,
                                          num_blocks=2, num_bins=K),
    "tfp_glow": lambda: tfp_glow(hidden_channels=64),
}


def num_params(dist):
  return sum(int(np.prod(v.shape)) for v in dist.trainable_variables)


def mean_bits_per_dim(dist, x):
  return tf.reduce_mean(tff.metrics.bits_per_dim(dist.log_prob(x), SHAPE))


def train(dist, train_images, steps, batch, learning_rate, seed):
  """Adam on mean bits/dim in a `tf.function`; returns the seconds spent."""
  variables = dist.trainable_variables
  schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps)
  optimizer = keras.optimizers.Adam(schedule)
  optimizer.build(variables)

  @tf.function
  def step(x):
    with tf.GradientTape() as tape:
      loss = mean_bits_per_dim(dist, x)
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return loss

  batches = iter(tff.data.image_dataset(train_images, batch, seed=seed, repeat=True,
                                        drop_remainder=True))
  start = time.perf_counter()
  for i in range(steps):
    loss = step(next(batches))
    if (i + 1) % max(steps // 5, 1) == 0:
      print(f"    step {i + 1:5d}  train batch bits/dim {float(loss):.3f}", flush=True)
  return time.perf_counter() - start


def evaluate(dist, images, draws=8):
  """Bits/dim over `images`, averaged over `draws` dequantization draws."""
  log_prob = tf.function(dist.log_prob)
  x = tf.constant(images)
  values = [float(tf.reduce_mean(tff.metrics.bits_per_dim(log_prob(tf.identity(x)), SHAPE)))
            for _ in range(draws)]
  return float(np.mean(values)), float(np.std(values))


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--models", default="glow,realnvp,tfp_glow")
  parser.add_argument("--steps", type=int, default=3000)
  parser.add_argument("--batch", type=int, default=64)
  parser.add_argument("--learning_rate", type=float, default=1e-3)
  parser.add_argument("--seed", type=int, default=0)
  args = parser.parse_args()

  train_images, test_images = tff.data.digits("train"), tff.data.digits("test")
  print(f"digits: {len(train_images)} train, {len(test_images)} test, {K} levels; "
        f"{args.steps} steps of batch {args.batch}, Adam {args.learning_rate} cosine")
  rows = []
  for name in args.models.split(","):
    tf.random.set_seed(args.seed)
    dist = MODELS[name]()
    first = tf.constant(train_images[:256])
    if name == "tfp_glow":
      dist.log_prob(first)  # TFP's ActNorms initialise themselves on their first call.
    else:
      tff.bijectors.initialize_act_norms(dist, first)
    print(f"{name}: {num_params(dist):,} parameters; test bits/dim at start "
          f"{evaluate(dist, test_images, draws=1)[0]:.3f}", flush=True)
    seconds = train(dist, train_images, args.steps, args.batch, args.learning_rate,
                    args.seed)
    test_mean, test_std = evaluate(dist, test_images)
    train_mean, _ = evaluate(dist, train_images[:len(test_images)], draws=2)
    rows.append((name, num_params(dist), test_mean, test_std, train_mean, seconds))

  print(f"\n{'model':10s} {'params':>9s} {'test bpd':>9s} {'(std)':>7s} {'train bpd':>10s} "
        f"{'train s':>8s}")
  for name, params, test_mean, test_std, train_mean, seconds in rows:
    print(f"{name:10s} {params:9,d} {test_mean:9.4f} {test_std:7.4f} {train_mean:10.4f} "
          f"{seconds:8.1f}")


if __name__ == "__main__":
  main()
