"""Test bits/dim on the 8x8 digits: our Glow (with and without its learned prior), RealNVP
and Flow++ against TFP's own `tfb.Glow`.

Every model sees the same data (`tff.data.digits`, 1438 train / 359 test images, 17
levels), the same logit preprocessing (`LogitPreprocessing(0.05)`) behind a dequantization
(`UniformDequantization(17)`; Flow++ learns its own, `VariationalDequantization`), the same
optimiser (Adam, cosine-decayed learning rate), batch, number of steps and seed, and
parameter counts within 3% of each other (printed; Flow++'s include its dequantizer's).
Every `log_prob` is a bound on log P(x): the uniform dequantization bound, or for Flow++
the variational one (its `log_prob` already includes `-log q(u | x)`).

  glow        `tff.models.glow`: 2 levels x 4 steps of ActNorm, 1x1 conv, affine coupling
              (3-layer conv net, 64 hidden); standard normal prior for factored-out channels.
  glow_prior  the same with `learned_prior=True`: Glow's split prior, a zero-initialised
              conv giving the mean/log-scale of the factored-out half from the other half.
  realnvp     `tff.models.realnvp`: 2 scales, ResNet couplings (14 channels x 2 blocks).
  tfp_glow    TFP's `tfb.Glow`, same layout, 64 hidden, with its "exit" couplings (a learned
              conditional prior for the factored-out channels).
  flowpp      `tff.models.flowpp`: Glow's layout with Flow++'s mixture-of-logistics CDF
              couplings (FLOWPP below: fewer hidden channels and components, to pay for
              the 3K + 2 outputs per element and the dequantizer) and learned prior.

ActNorms start from the first batch (ours through `initialize_act_norms`; TFP's on its
first call, made eagerly here). Test bits/dim is averaged over the test set and over 8
seeded dequantization draws (`tff.models.bijector_kwargs(dist, seed=...)`, which also
reaches the `UniformDequantization` in front of TFP's Glow); train bits/dim over the first
359 training images and 2 draws. Sampling 64 images is timed once (eager) as a check.

Run from the repository root (CPU; 15-20 minutes for all five models on 2 shared cores):
  PYTHONPATH=. python benchmarks/digits_bits_per_dim.py
  PYTHONPATH=. python benchmarks/digits_bits_per_dim.py --models=glow_prior,flowpp
  PYTHONPATH=. python benchmarks/digits_bits_per_dim.py --quick   # smoke run, 100 steps

It prints each model's parameter count and progress, then one table: parameters, test
bits/dim (mean and std over the 8 draws), train bits/dim, train seconds and the seconds
to sample 64 images, followed by the command that produced it.
"""

import argparse
import sys
import time

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_flows as tff

tfb, tfd = tfp.bijectors, tfp.distributions
SHAPE = [8, 8, 1]
K = tff.data.DIGITS_NUM_BINS

# Flow++ at TFP Glow's budget (75,804 +- 3%; this is 75,194 with its dequantizer's 5,998).
# Its coupling's last (3x3) conv emits 3K + 2 numbers per element instead of the affine
# coupling's 2: at 64 hidden channels and K = 8 that alone is ~360k parameters. So 4
# components and 20 hidden channels, and a small dequantizer (2 spline couplings of
# 8-channel ResNets). Sized on a validation split of the training set (1238 / 200 images,
# 600 and 1500 steps): K = 4 beat K = 2 (h 28), K = 3 (h 24) and K = 8 (h 10); a 4-layer
# dequantizer (h 18, or 4 x 12 channels with h 16) did no better.
FLOWPP = dict(levels=2, depth=4, hidden_channels=20, num_components=4,
              dequantization_layers=2, dequantization_hidden_channels=8)


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
    "glow_prior": lambda: tff.models.glow(SHAPE, levels=2, depth=4, hidden_channels=64,
                                          num_bins=K, learned_prior=True, seed=0),
    "realnvp": lambda: tff.models.realnvp(SHAPE, num_scales=2, hidden_channels=14,
                                          num_blocks=2, num_bins=K),
    "tfp_glow": lambda: tfp_glow(hidden_channels=64),
    "flowpp": lambda: tff.models.flowpp(SHAPE, num_bins=K, seed=0, **FLOWPP),
}


def num_params(dist):
  return sum(int(np.prod(v.shape)) for v in dist.trainable_variables)


def mean_bits_per_dim(dist, x, **kwargs):
  return tf.reduce_mean(tff.metrics.bits_per_dim(dist.log_prob(x, **kwargs), SHAPE))


def initialize(name, dist, x):
  if name == "tfp_glow":
    dist.log_prob(x)  # TFP's ActNorms initialise themselves on their first call.
  else:
    tff.bijectors.initialize_act_norms(dist, x)


def train(dist, train_images, steps, batch, learning_rate, seed, variables=None):
  """Adam on mean bits/dim in a `tf.function`; returns (seconds, last batch bits/dim).

  `variables` (default: all of the distribution's) are the ones trained."""
  variables = list(dist.trainable_variables if variables is None else variables)
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
  loss = float("nan")
  for i in range(steps):
    loss = step(next(batches))
    if (i + 1) % max(steps // 5, 1) == 0:
      print(f"    step {i + 1:5d}  train batch bits/dim {float(loss):.3f}", flush=True)
  return time.perf_counter() - start, float(loss)


def evaluator(dist):
  """`evaluate(images, draws, seed)`: bits/dim over `images`, (mean, std) over `draws`
  seeded dequantization draws; one `tf.function`, traced once per image shape."""
  @tf.function
  def bits(x, draw_seed):
    kwargs = tff.models.bijector_kwargs(dist, seed=draw_seed)
    return mean_bits_per_dim(dist, x, bijector_kwargs=kwargs)

  def evaluate(images, draws=8, seed=0):
    x = tf.constant(images)
    values = [float(bits(x, tf.constant([seed, i], tf.int32))) for i in range(draws)]
    return float(np.mean(values)), float(np.std(values))

  return evaluate


def time_sampling(dist, n=64, seed=0):
  """Seconds to draw `n` samples eagerly, and how many are not all finite levels in
  [0, K - 1]."""
  start = time.perf_counter()
  images = dist.sample(n, seed=tf.constant([seed, 1], tf.int32)).numpy().reshape(n, -1)
  seconds = time.perf_counter() - start
  good = np.all(np.isfinite(images) & (images >= 0) & (images <= K - 1), axis=1)
  return seconds, int(n - good.sum())


def run_model(name, args, train_images, test_images, build=None, variables_of=None):
  """Builds, trains and evaluates one model; returns its table row (a dict)."""
  tf.random.set_seed(args.seed)
  dist = (build or MODELS[name])()
  initialize(name, dist, tf.constant(train_images[:256]))
  evaluate = evaluator(dist)
  print(f"{name}: {num_params(dist):,} parameters; test bits/dim at start "
        f"{evaluate(test_images, draws=1, seed=args.seed)[0]:.3f}", flush=True)
  variables = None if variables_of is None else variables_of(dist)
  seconds, last = train(dist, train_images, args.steps, args.batch, args.learning_rate,
                        args.seed, variables)
  test_mean, test_std = evaluate(test_images, args.draws, seed=args.seed + 1000)
  train_mean, _ = evaluate(train_images[:len(test_images)], 2, seed=args.seed + 2000)
  sample_s, bad_samples = time_sampling(dist, seed=args.seed)
  return dict(name=name, params=num_params(dist), test=test_mean, std=test_std,
              train=train_mean, seconds=seconds, last=last, sample_s=sample_s,
              bad_samples=bad_samples)


def print_table(rows):
  print(f"\n{'model':11s} {'params':>8s} {'test bpd':>9s} {'(std)':>7s} {'train bpd':>10s} "
        f"{'train s':>8s} {'sample s':>9s}")
  for r in rows:
    print(f"{r['name']:11s} {r['params']:8,d} {r['test']:9.4f} {r['std']:7.4f} "
          f"{r['train']:10.4f} {r['seconds']:8.1f} {r['sample_s']:9.2f}"
          + (f"  ({r['bad_samples']} of 64 samples not finite)" if r["bad_samples"] else ""))


def parse_args(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--models", default="glow,glow_prior,realnvp,tfp_glow,flowpp",
                      help=f"comma-separated subset of {','.join(MODELS)}")
  parser.add_argument("--steps", type=int, default=None, help="default 3000 (100 with --quick)")
  parser.add_argument("--quick", action="store_true",
                      help="smoke run: 100 steps and 2 test draws unless given")
  parser.add_argument("--draws", type=int, default=None, help="test draws (default 8)")
  parser.add_argument("--batch", type=int, default=64)
  parser.add_argument("--learning_rate", type=float, default=1e-3)
  parser.add_argument("--seed", type=int, default=0)
  args = parser.parse_args(argv)
  if args.steps is None:
    args.steps = 100 if args.quick else 3000
  if args.draws is None:
    args.draws = 2 if args.quick else 8
  unknown = [m for m in args.models.split(",") if m not in MODELS]
  if unknown:
    parser.error(f"unknown --models {unknown}; choose from {','.join(MODELS)}")
  return args


def main():
  args = parse_args()
  train_images, test_images = tff.data.digits("train"), tff.data.digits("test")
  print(f"digits: {len(train_images)} train, {len(test_images)} test, {K} levels; "
        f"{args.steps} steps of batch {args.batch}, Adam {args.learning_rate} cosine, "
        f"seed {args.seed}; flowpp {FLOWPP}")
  rows = [run_model(name, args, train_images, test_images)
          for name in args.models.split(",")]
  print_table(rows)
  print("\ncommand: PYTHONPATH=. python " + " ".join(sys.argv))


if __name__ == "__main__":
  main()
