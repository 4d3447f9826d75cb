"""Ring of 8 Gaussians: how far each flow's density is from the truth, ours next to zuko's.

The target is an equal mixture of 8 isotropic Gaussians, means on a circle of radius 2
(angles 2 pi k / 8), sd 0.2. 20,000 train and 20,000 test points are drawn once with a fixed
seed (the same points for every model and every `--seeds` value). Its log-density is known,
so each model is scored by

    gap = mean_test(-log q(x)) - mean_test(-log p(x))   (nats; estimates KL(p || q) >= 0)

Every model is trained "as a new user would": default sizes, Adam at a constant 1e-3,
`--steps` (3000) steps of batch 256 drawn with replacement, on the raw coordinates (no
standardisation). At a given seed every model sees the same sequence of minibatches; the
seed also fixes its initial weights (`seed=` of our builders, `torch.manual_seed`).

Models (`--models`, comma-separated; default: all that are importable):
  maf, iaf, mixture_cdf_flow     tff.models.maf(2), iaf(2), mixture_cdf_flow(2)
  nsf, nsf_coupling              tff.models.nsf(2), nsf(2, coupling=True), when tff.models.nsf exists
  zuko_maf, zuko_nsf             zuko.flows.MAF / NSF(features=2, transforms=5, hidden_features=[128, 128])
  nflows_maf                     nflows.flows.MaskedAutoregressiveFlow(2, hidden_features=128,
                                 num_layers=5, num_blocks_per_layer=2) (its defaults: residual
                                 MADE blocks, batch norm between layers; evaluated in eval mode)
The TensorFlow side needs only the library's dependencies. The PyTorch models run in this
process when `torch` imports here, else in a subprocess under `--torch_python` (a venv with
`torch==2.13.0 zuko nflows numpy`; that process imports no TensorFlow), else they are skipped.

Run from the repository root (CPU; a full run is long: ~12 min on 2 busy CPU cores with
--threads=1, 16 trainings of 5-80 s; the IAF is the slowest, as its density takes D passes
per layer):
  python3 -m venv /work/venvs/torch && /work/venvs/torch/bin/pip install torch==2.13.0 zuko nflows numpy
  PYTHONPATH=. .venv/bin/python benchmarks/ring_of_gaussians.py --threads=1 --torch_python=/work/venvs/torch/bin/python
  PYTHONPATH=. .venv/bin/python benchmarks/ring_of_gaussians.py --quick   # smoke run, ~1 min
Options: --seeds=0,1 --steps=3000 --models=maf,zuko_maf --batch=256 --lr=1e-3 --json=PATH,
--threads=N (intra-op threads of TF and PyTorch; default: each library's own default. On a
busy 2-core machine PyTorch's default (2 threads) made zuko's MAF 3000 steps take 106-212 s
against 22-38 s with --threads=1: use --threads=1 there for comparable seconds).

It prints one line per (model, seed) as it goes, then a table: parameters (every entry of
every weight tensor, masked ones included, as PyTorch counts them), the gap averaged over
the seeds and per seed, the test NLL, the train seconds per seed (including tracing) and
the largest minibatch loss in the second half of training (a spike there means
instability; "diverged" if a loss was not finite).
"""

import argparse
import inspect
import json
import math
import subprocess
import sys
import time

import numpy as np

NUM_MODES, RADIUS, SD = 8, 2.0, 0.2
DATA_SEED, NUM_TRAIN, NUM_TEST = 20240, 20000, 20000
EVAL_BATCH = 5000

TF_MODELS = ("maf", "iaf", "mixture_cdf_flow", "nsf", "nsf_coupling")
TORCH_MODELS = ("zuko_maf", "zuko_nsf", "nflows_maf")


# ----------------------------------------------------------------------------- data (numpy)

def means():
  angles = 2 * np.pi * np.arange(NUM_MODES) / NUM_MODES
  return RADIUS * np.stack([np.cos(angles), np.sin(angles)], -1)


def ring_data(seed=DATA_SEED):
  """(train, test), float32 `[20000, 2]` each, from one fixed generator."""
  rng = np.random.default_rng(seed)
  n = NUM_TRAIN + NUM_TEST
  x = means()[rng.integers(0, NUM_MODES, n)] + SD * rng.standard_normal((n, 2))
  x = x.astype(np.float32)
  return x[:NUM_TRAIN], x[NUM_TRAIN:]


def true_log_prob(x):
  """Exact log-density of the ring (float64), `[N, 2] -> [N]`."""
  d2 = ((np.asarray(x, np.float64)[:, None, :] - means()[None]) ** 2).sum(-1)
  log_components = -d2 / (2 * SD**2) - np.log(2 * np.pi * SD**2) - np.log(NUM_MODES)
  top = log_components.max(-1)
  return top + np.log(np.exp(log_components - top[:, None]).sum(-1))


def batch_indices(seed, steps, batch, n=NUM_TRAIN):
  """The minibatch sequence of a seed, shared by every model (TF and PyTorch)."""
  return np.random.default_rng([seed, 7]).integers(0, n, (steps, batch))


def summary(losses, seconds, params, test_nll):
  """Per-run record; the gap is filled in by the caller."""
  losses = np.asarray(losses, np.float64)
  finite = bool(np.all(np.isfinite(losses)))
  return {"params": int(params), "test_nll": float(test_nll), "seconds": float(seconds),
          "worst_second_half": float(np.max(losses[len(losses) // 2:])) if finite else math.inf,
          "diverged": not finite or not np.isfinite(test_nll),
          "final_loss": float(np.mean(losses[-100:]))}


# ------------------------------------------------------------------------ TensorFlow models

def tf_builders():
  """{name: builder(seed)} of our flows; `nsf` ones only when `tff.models.nsf` exists."""
  import tfp_flows as tff  # pylint: disable=import-outside-toplevel

  def seeded(builder, **kwargs):
    takes_seed = "seed" in inspect.signature(builder).parameters
    return lambda seed: builder(2, **kwargs, **({"seed": seed} if takes_seed else {}))

  builders = {"maf": seeded(tff.models.maf), "iaf": seeded(tff.models.iaf),
              "mixture_cdf_flow": seeded(tff.models.mixture_cdf_flow)}
  if hasattr(tff.models, "nsf"):
    builders["nsf"] = seeded(tff.models.nsf)
    builders["nsf_coupling"] = seeded(tff.models.nsf, coupling=True)
  return builders


def train_tf(dist, data, seed, steps, batch, lr):
  """Adam(lr) on -mean log q of the seed's minibatches; returns `summary(...)`."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  x_train, x_test = data
  variables = dist.trainable_variables
  optimizer = tf.keras.optimizers.Adam(lr)

  @tf.function
  def train_step(x):
    with tf.GradientTape() as tape:
      loss = -tf.reduce_mean(dist.log_prob(x))
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return loss

  log_prob = tf.function(dist.log_prob)
  x = tf.constant(x_train)
  losses = []
  start = time.perf_counter()
  for idx in batch_indices(seed, steps, batch):
    losses.append(float(train_step(tf.gather(x, idx))))
    if not math.isfinite(losses[-1]):
      break
  seconds = time.perf_counter() - start
  test_nll = -np.mean(np.concatenate(
      [log_prob(x_test[i:i + EVAL_BATCH]).numpy() for i in range(0, len(x_test), EVAL_BATCH)]))
  params = sum(int(np.prod(v.shape)) for v in variables)
  return summary(losses, seconds, params, test_nll)


def run_tf(name, builder, data, seed, args):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  del name
  tf.keras.utils.set_random_seed(seed)
  return train_tf(builder(seed), data, seed, args.steps, args.batch, args.lr)


# --------------------------------------------------------------------------- PyTorch models

def torch_builders():
  """{name: builder()} of the PyTorch flows that import; each returns `log_prob(x)`."""
  builders = {}
  try:
    import zuko  # pylint: disable=import-outside-toplevel
    def zuko_flow(cls):
      def build():
        flow = cls(features=2, transforms=5, hidden_features=[128, 128])
        return flow, lambda x: flow().log_prob(x)
      return build
    builders["zuko_maf"] = zuko_flow(zuko.flows.MAF)
    builders["zuko_nsf"] = zuko_flow(zuko.flows.NSF)
  except ImportError:
    pass
  try:
    from nflows import flows  # pylint: disable=import-outside-toplevel
    def nflows_maf():
      flow = flows.MaskedAutoregressiveFlow(features=2, hidden_features=128, num_layers=5,
                                            num_blocks_per_layer=2)
      return flow, flow.log_prob
    builders["nflows_maf"] = nflows_maf
  except ImportError:
    pass
  return builders


def run_torch(name, builder, data, seed, args):
  import torch  # pylint: disable=import-outside-toplevel
  del name
  if args.threads:
    torch.set_num_threads(args.threads)
  torch.manual_seed(seed)
  flow, log_prob = builder()
  optimizer = torch.optim.Adam(flow.parameters(), lr=args.lr)
  x_train, x_test = (torch.as_tensor(x) for x in data)
  flow.train()
  losses = []
  start = time.perf_counter()
  for idx in batch_indices(seed, args.steps, args.batch):
    loss = -log_prob(x_train[torch.as_tensor(idx)]).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
    if not math.isfinite(losses[-1]):
      break
  seconds = time.perf_counter() - start
  flow.eval()
  with torch.no_grad():
    test_nll = -torch.cat([log_prob(x_test[i:i + EVAL_BATCH])
                           for i in range(0, len(x_test), EVAL_BATCH)]).double().mean().item()
  params = sum(p.numel() for p in flow.parameters())
  return summary(losses, seconds, params, test_nll)


# ---------------------------------------------------------------------------------- driver

def torch_in_process():
  try:
    import torch  # pylint: disable=import-outside-toplevel,unused-import
    return True
  except ImportError:
    return False


def run_all(names, runner, builders, data, true_nll, args, results):
  for name in names:
    if name not in builders:
      print(f"skipped {name}: not available here", flush=True)
      continue
    for seed in args.seeds:
      record = runner(name, builders[name], data, seed, args)
      record["gap"] = record["test_nll"] - true_nll
      results.setdefault(name, {})[seed] = record
      print(f"RESULT {json.dumps({'model': name, 'seed': seed, **record})}", flush=True)


def run_torch_subprocess(names, args, results):
  command = [args.torch_python, __file__, "--worker", f"--models={','.join(names)}",
             f"--seeds={','.join(map(str, args.seeds))}", f"--steps={args.steps}",
             f"--batch={args.batch}", f"--lr={args.lr}", f"--threads={args.threads or 0}"]
  print(f"running {', '.join(names)} under {args.torch_python}", flush=True)
  process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
  for line in process.stdout:
    print(line, end="", flush=True)
    if line.startswith("RESULT "):
      record = json.loads(line[len("RESULT "):])
      results.setdefault(record.pop("model"), {})[record.pop("seed")] = record
  if process.wait():
    print(f"the PyTorch subprocess exited with status {process.returncode}", flush=True)


def print_table(results, names, true_nll, args):
  print(f"\nring of {NUM_MODES} Gaussians (radius {RADIUS}, sd {SD}): {NUM_TRAIN} train / "
        f"{NUM_TEST} test points; true test NLL {true_nll:.4f} nats; {args.steps} steps of "
        f"Adam {args.lr:g}, batch {args.batch}; seeds {args.seeds}")
  per_seed = " ".join(f"{'s' + str(s):>7}" for s in args.seeds)
  print(f"{'model':<18}{'params':>10}{'gap':>8} {per_seed}{'test NLL':>10}{'train s':>9}"
        f"{'worst 2nd half':>16}")
  for name in names:
    if name not in results:
      continue
    runs = [results[name].get(s) for s in args.seeds]
    done = [r for r in runs if r is not None]
    gaps = " ".join(f"{r['gap']:7.3f}" if r and not r["diverged"] else f"{'div.':>7}"
                    if r else f"{'-':>7}" for r in runs)
    mean = lambda key: np.mean([r[key] for r in done])
    worst = max(r["worst_second_half"] for r in done)
    print(f"{name:<18}{done[0]['params']:>10,}{mean('gap'):8.3f} {gaps}{mean('test_nll'):10.4f}"
          f"{mean('seconds'):9.1f}{worst:16.3f}")
  print("gap = test NLL - true test NLL (nats, estimates KL(p || q)); train s: mean per seed.")


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--models", default=",".join(TF_MODELS + TORCH_MODELS))
  parser.add_argument("--seeds", default="0,1")
  parser.add_argument("--steps", type=int, default=3000)
  parser.add_argument("--batch", type=int, default=256)
  parser.add_argument("--lr", type=float, default=1e-3)
  parser.add_argument("--quick", action="store_true", help="smoke run: 100 steps")
  parser.add_argument("--torch_python", default=None,
                      help="python of a venv with torch and zuko, used when torch does not "
                           "import in this process")
  parser.add_argument("--threads", type=int, default=0,
                      help="intra-op threads for TF and PyTorch (0: their defaults)")
  parser.add_argument("--json", default=None, help="also write the results to this file")
  parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
  args = parser.parse_args()
  args.seeds = [int(s) for s in args.seeds.split(",")]
  if args.quick:
    args.steps = 100
  names = [n for n in args.models.split(",") if n]
  unknown = set(names) - set(TF_MODELS + TORCH_MODELS)
  if unknown:
    parser.error(f"unknown models {sorted(unknown)}; choose from {TF_MODELS + TORCH_MODELS}")

  data = ring_data()
  true_nll = float(-np.mean(true_log_prob(data[1])))
  results = {}
  tf_names = [n for n in names if n in TF_MODELS]
  torch_names = [n for n in names if n in TORCH_MODELS]
  if args.worker:  # The PyTorch side, in its own venv: no TensorFlow here.
    run_all(torch_names, run_torch, torch_builders(), data, true_nll, args, results)
    return
  if tf_names:
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    import tensorflow_probability as tfp  # pylint: disable=import-outside-toplevel
    import keras  # pylint: disable=import-outside-toplevel
    if args.threads:
      tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    print(f"TF {tf.__version__}, TFP {tfp.__version__}, Keras {keras.__version__}", flush=True)
    run_all(tf_names, run_tf, tf_builders(), data, true_nll, args, results)
  if torch_names:
    if torch_in_process():
      run_all(torch_names, run_torch, torch_builders(), data, true_nll, args, results)
    elif args.torch_python:
      run_torch_subprocess(torch_names, args, results)
    else:
      print(f"skipped {', '.join(torch_names)}: torch does not import here and no "
            "--torch_python was given", flush=True)
  print_table(results, names, true_nll, args)
  if args.json:
    with open(args.json, "w") as f:
      json.dump({"true_test_nll": true_nll, "steps": args.steps, "seeds": args.seeds,
                 "results": results}, f, indent=1)


if __name__ == "__main__":
  main()
