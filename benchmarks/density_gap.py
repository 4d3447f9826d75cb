"""The harness of the "gap to a known density" benchmarks: `ring_of_gaussians.py` (p(x)) and
`conditional_mixture.py` (p(x | c)).

Each of those scripts owns its target (an exact log-density and the fixed train / test data
drawn from it), its model builders, how a model's log-density is called (x alone, or x given
c), how a run's log q of the test points is scored against the truth, and any extra output.
This module owns the rest, the same for both:

  - `batch_indices`: the minibatch sequence of a seed, shared by every model (TF and PyTorch);
  - `train_tf` / `train_torch`: Adam at a constant `--lr` on -mean log q of those minibatches,
    then log q of the test points, as one `summary` record per (model, seed);
  - running the PyTorch models in this process when `torch` imports here, else re-running the
    script under `--torch_python --worker` and reading its `RESULT {json}` lines from stdout;
  - the command line (--seeds --steps --models --batch --lr --quick --threads --torch_python
    --json), the printed table and the `--json` file (`main`).

Data are `(train, test)`, each a tuple of arrays in the order the log-density takes them:
`(x,)` for p(x), `(x, c)` for p(x | c). The PyTorch worker runs in a venv with no TensorFlow
and no tfp_flows, so this module imports neither at module level (nor torch); the worker finds
it as `benchmarks.density_gap` through the PYTHONPATH it inherits (the subprocess gets this
process's environment and working directory unchanged).
"""

import argparse
import json
import math
import subprocess
import time

import numpy as np

EVAL_BATCH = 5000


def batch_indices(seed, steps, batch, n):
  """The minibatch sequence of a seed, shared by every model (TF and PyTorch)."""
  return np.random.default_rng([seed, 7]).integers(0, n, (steps, batch))


def summary(losses, seconds, params, log_q, score):
  """Per-run record; `score(log_q)` gives its gap entries (a dict, added last)."""
  losses = np.asarray(losses, np.float64)
  finite = bool(np.all(np.isfinite(losses)))
  return {"params": int(params), "test_nll": float(-np.mean(log_q)), "seconds": float(seconds),
          "worst_second_half": float(np.max(losses[len(losses) // 2:])) if finite else math.inf,
          "diverged": not finite or not np.all(np.isfinite(log_q)),
          "final_loss": float(np.mean(losses[-100:])), **score(log_q)}


def train_tf(dist, log_prob, data, seed, args, score):
  """Adam on -mean `log_prob(dist, *inputs)` of the seed's minibatches; `summary(...)`."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  train, test = data
  variables = dist.trainable_variables
  optimizer = tf.keras.optimizers.Adam(args.lr)

  @tf.function
  def train_step(*inputs):
    with tf.GradientTape() as tape:
      loss = -tf.reduce_mean(log_prob(dist, *inputs))
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return loss

  evaluate = tf.function(lambda *inputs: log_prob(dist, *inputs))
  train = [tf.constant(a) for a in train]
  losses = []
  start = time.perf_counter()
  for idx in batch_indices(seed, args.steps, args.batch, len(data[0][0])):
    losses.append(float(train_step(*(tf.gather(a, idx) for a in train))))
    if not math.isfinite(losses[-1]):
      break
  seconds = time.perf_counter() - start
  log_q = np.concatenate([evaluate(*(a[i:i + EVAL_BATCH] for a in test)).numpy()
                          for i in range(0, len(test[0]), EVAL_BATCH)])
  params = sum(int(np.prod(v.shape)) for v in variables)
  return summary(losses, seconds, params, log_q, score)


def run_tf(builder, log_prob, data, seed, args, score):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  tf.keras.utils.set_random_seed(seed)
  return train_tf(builder(seed), log_prob, data, seed, args, score)


def train_torch(builder, data, seed, args, score):
  """`flow, log_prob = builder()` seeded by `torch.manual_seed`, trained as in `train_tf`
  (train mode while training, eval mode to test)."""
  import torch  # pylint: disable=import-outside-toplevel
  if args.threads:
    torch.set_num_threads(args.threads)
  torch.manual_seed(seed)
  flow, log_prob = builder()
  optimizer = torch.optim.Adam(flow.parameters(), lr=args.lr)
  train, test = ([torch.as_tensor(a) for a in part] for part in data)
  flow.train()
  losses = []
  start = time.perf_counter()
  for idx in batch_indices(seed, args.steps, args.batch, len(train[0])):
    idx = torch.as_tensor(idx)
    loss = -log_prob(*(a[idx] for a in train)).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
    if not math.isfinite(losses[-1]):
      break
  seconds = time.perf_counter() - start
  flow.eval()
  with torch.no_grad():
    log_q = torch.cat([log_prob(*(a[i:i + EVAL_BATCH] for a in test))
                       for i in range(0, len(test[0]), EVAL_BATCH)]).double().numpy()
  params = sum(p.numel() for p in flow.parameters())
  return summary(losses, seconds, params, log_q, score)


# ---------------------------------------------------------------------------------- driver

def torch_in_process():
  try:
    import torch  # pylint: disable=import-outside-toplevel,unused-import
    return True
  except ImportError:
    return False


def run_all(names, runner, builders, args, results):
  """`runner(builder, seed)` for each available name and seed; prints a RESULT line each."""
  for name in names:
    if name not in builders:
      print(f"skipped {name}: not available here", flush=True)
      continue
    for seed in args.seeds:
      record = runner(builders[name], seed)
      results.setdefault(name, {})[seed] = record
      print(f"RESULT {json.dumps({'model': name, 'seed': seed, **record})}", flush=True)


def run_torch_subprocess(script, names, args, results):
  """Re-runs `script` under `--torch_python` as a worker; collects its RESULT lines."""
  command = [args.torch_python, script, "--worker", f"--models={','.join(names)}",
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


def print_table(results, names, args, title, gap_note):
  """The table of the runs; returns {model: gap averaged over its seeds}."""
  print(f"\n{title}; {args.steps} steps of Adam {args.lr:g}, batch {args.batch}; "
        f"seeds {args.seeds}")
  per_seed = " ".join(f"{'s' + str(s):>7}" for s in args.seeds)
  print(f"{'model':<18}{'params':>10}{'gap':>8} {per_seed}{'test NLL':>10}{'train s':>9}"
        f"{'worst 2nd half':>16}")
  mean_gaps = {}
  for name in names:
    if name not in results:
      continue
    runs = [results[name].get(s) for s in args.seeds]
    done = [r for r in runs if r is not None]
    gaps = " ".join(f"{r['gap']:7.3f}" if r and not r["diverged"] else f"{'div.':>7}"
                    if r else f"{'-':>7}" for r in runs)
    mean = lambda key, runs=done: np.mean([r[key] for r in runs])
    mean_gaps[name] = mean("gap")
    worst = max(r["worst_second_half"] for r in done)
    print(f"{name:<18}{done[0]['params']:>10,}{mean('gap'):8.3f} {gaps}{mean('test_nll'):10.4f}"
          f"{mean('seconds'):9.1f}{worst:16.3f}")
  print(f"gap = {gap_note}; train s: mean per seed.")
  return mean_gaps


def parse_args(doc, models):
  parser = argparse.ArgumentParser(description=doc.splitlines()[0])
  parser.add_argument("--models", default=",".join(models))
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
  unknown = set(names) - set(models)
  if unknown:
    parser.error(f"unknown models {sorted(unknown)}; choose from {models}")
  return args, names


def main(script):
  """The whole run of a benchmark script, given as its module (`sys.modules[__name__]`).

  That module has: its `__file__` (re-run as the PyTorch worker) and `__doc__` (the first line
  is `--help`'s description); TF_MODELS, TORCH_MODELS: the model names of each side;
  tf_builders(), torch_builders(): {name: builder} of those available, a TF builder being
  `dist = builder(seed)` and a PyTorch one `flow, log_prob = builder()`; tf_log_prob(dist,
  *inputs): a TF model's log-density; make_data(): `(train, test)` (see the module docstring);
  true_log_prob(*inputs): the exact log p, float64; score(log_q, test, true_nll): the record's
  gap entries, at least "gap"; TITLE: the table's first line up to the true test NLL;
  GAP_NOTE: what "gap" is, under the table; optionally after_table(results, mean_gaps): any
  output after the table.
  """
  tf_models, torch_models = script.TF_MODELS, script.TORCH_MODELS
  args, names = parse_args(script.__doc__, tf_models + torch_models)
  data = script.make_data()
  true_nll = float(-np.mean(script.true_log_prob(*data[1])))
  scored = lambda log_q: script.score(log_q, data[1], true_nll)
  run_torch = lambda builder, seed: train_torch(builder, data, seed, args, scored)
  results = {}
  tf_names = [n for n in names if n in tf_models]
  torch_names = [n for n in names if n in torch_models]
  if args.worker:  # The PyTorch side, in its own venv: no TensorFlow here.
    run_all(torch_names, run_torch, script.torch_builders(), args, results)
    return
  if tf_names:
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    import tensorflow_probability as tfp  # pylint: disable=import-outside-toplevel
    import keras  # pylint: disable=import-outside-toplevel
    if args.threads:
      tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    print(f"TF {tf.__version__}, TFP {tfp.__version__}, Keras {keras.__version__}", flush=True)
    run_tf_model = lambda builder, seed: run_tf(builder, script.tf_log_prob, data, seed, args,
                                                scored)
    run_all(tf_names, run_tf_model, script.tf_builders(), args, results)
  if torch_names:
    if torch_in_process():
      run_all(torch_names, run_torch, script.torch_builders(), args, results)
    elif args.torch_python:
      run_torch_subprocess(script.__file__, torch_names, args, results)
    else:
      print(f"skipped {', '.join(torch_names)}: torch does not import here and no "
            "--torch_python was given", flush=True)
  mean_gaps = print_table(results, names, args,
                          f"{script.TITLE}; true test NLL {true_nll:.4f} nats", script.GAP_NOTE)
  if hasattr(script, "after_table"):
    script.after_table(results, mean_gaps)
  if args.json:
    with open(args.json, "w") as f:
      json.dump({"true_test_nll": true_nll, "steps": args.steps, "seeds": args.seeds,
                 "results": results}, f, indent=1)
