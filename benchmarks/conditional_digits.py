"""Class-conditional Glow on the 8x8 digits: p(x | digit) against p(x) at equal size.

Both models are Glow with its learned prior (`tff.models.glow(..., learned_prior=True)`,
2 levels x 4 steps), trained the same way through `tff.keras.FlowModel.fit`: 3000 steps of
batch 64 (`tff.data.image_dataset`, seeded shuffle), Adam with a cosine-decayed learning
rate from 1e-3, XLA, on the 1438 training digits; scored on the 359 test digits.

  glow              unconditional, 64 hidden channels (75,804 parameters).
  glow_conditional  `num_classes=10`: the one-hot label reaches every coupling network
                    (a dense map added to its first layer) and the learned prior; 61
                    hidden channels, so its size is within 0.2% of the other (75,732).

Scores (test set, 8 seeded dequantization draws, the same seeds for both models):
  bits/dim          -log2 of the dequantization bound, per dimension: of p(x) for glow, of
                    p(x | label) for glow_conditional.
  marginal bits/dim glow_conditional's p(x) = sum_k p(k) p(x | k), p(k) the training
                    labels' frequencies: comparable with glow's bits/dim (each class's
                    bound uses the same noise draw, so this is a bound on log p(x) too).
  accuracy          classifying a test digit by argmax_k log p(x | k) (one noise draw
                    shared by the classes, `FlowModel.log_prob_per_class`).

Run from the repository root (CPU; ~3 minutes per model and seed on 2 idle cores):
  PYTHONPATH=. python benchmarks/conditional_digits.py              # seeds 0 and 1
  PYTHONPATH=. python benchmarks/conditional_digits.py --quick      # smoke run, 100 steps
"""

import argparse
import sys
import time

import keras
import numpy as np
import tensorflow as tf

import tfp_flows as tff

SHAPE = [8, 8, 1]
MODELS = {
    "glow": dict(hidden_channels=64),
    "glow_conditional": dict(hidden_channels=61, num_classes=10),
}
DRAWS, BATCH = 8, 512


def build(name, seed):
  return tff.models.glow(SHAPE, levels=2, depth=4, num_bins=tff.data.DIGITS_NUM_BINS,
                         learned_prior=True, seed=seed, **MODELS[name])


def train(name, seed, steps, train_images, train_labels):
  keras.utils.set_random_seed(seed)
  model = tff.keras.FlowModel(build(name, seed))
  schedule = keras.optimizers.schedules.CosineDecay(1e-3, steps)
  model.compile(keras.optimizers.Adam(schedule), jit_compile=True)
  labels = train_labels if model.conditional else None
  batches = tff.data.image_dataset(train_images, 64, seed=seed, repeat=True,
                                   drop_remainder=True, labels=labels)
  start = time.perf_counter()
  model.fit(batches, epochs=1, steps_per_epoch=steps, verbose=0)
  return model, time.perf_counter() - start


def scores(model, images, labels, prior):
  """`(bits/dim, marginal bits/dim or None, accuracy or None)` over DRAWS seeded draws."""
  dims = np.prod(SHAPE) * np.log(2.)
  bits, marginal, hits = [], [], 0
  for draw in range(DRAWS):
    for start in range(0, len(images), BATCH):
      x, k = images[start:start + BATCH], labels[start:start + BATCH]
      seed = tf.constant([draw, start // BATCH])
      if not model.conditional:
        bits.append(-model.log_prob(x, seed=seed).numpy() / dims)
        continue
      per_class = model.log_prob_per_class(x, seed=seed).numpy()  # [N, 10]
      bits.append(-per_class[np.arange(len(x)), k] / dims)
      joint = per_class + np.log(prior)
      top = joint.max(-1, keepdims=True)
      marginal.append(-(top[:, 0] + np.log(np.exp(joint - top).sum(-1))) / dims)
      if draw == 0:
        hits += int(np.sum(per_class.argmax(-1) == k))
  bits = float(np.mean(np.concatenate(bits)))
  if not model.conditional:
    return bits, None, None
  return bits, float(np.mean(np.concatenate(marginal))), hits / len(images)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--seeds", default="0,1")
  parser.add_argument("--steps", type=int, default=3000)
  parser.add_argument("--quick", action="store_true", help="100 steps, seed 0")
  args = parser.parse_args(argv)
  seeds = [0] if args.quick else [int(s) for s in args.seeds.split(",")]
  steps = 100 if args.quick else args.steps
  train_images, train_labels = tff.data.digits("train", with_labels=True)
  test_images, test_labels = tff.data.digits("test", with_labels=True)
  prior = np.bincount(train_labels, minlength=10) / len(train_labels)
  rows = []
  for seed in seeds:
    for name in MODELS:
      model, seconds = train(name, seed, steps, train_images, train_labels)
      params = sum(int(np.prod(v.shape)) for v in model.distribution.trainable_variables)
      bits, marginal, accuracy = scores(model, test_images, test_labels, prior)
      rows.append((name, seed, params, bits, marginal, accuracy, seconds))
      print(f"{name} seed {seed}: {params:,} parameters, test bits/dim {bits:.4f}"
            + ("" if marginal is None else f", marginal {marginal:.4f}, accuracy "
               f"{accuracy:.4f}") + f", {seconds:.0f} s", flush=True)
  print(f"\n8x8 digits, {steps} steps of batch 64, test bits/dim over {DRAWS} draws")
  print(f"{'model':<18}{'seed':>5}{'params':>9}{'bits/dim':>10}{'marginal':>10}"
        f"{'accuracy':>10}{'train s':>9}")
  for name, seed, params, bits, marginal, accuracy, seconds in rows:
    fmt = lambda v: f"{'-':>10}" if v is None else f"{v:>10.4f}"
    print(f"{name:<18}{seed:>5}{params:>9,}{bits:>10.4f}{fmt(marginal)}{fmt(accuracy)}"
          f"{seconds:>9.0f}")
  print(f"command: PYTHONPATH=. python {' '.join(sys.argv)}")


if __name__ == "__main__":
  main()
