"""Two moons (sbibm): neural posterior estimation with our conditional spline flow vs sbi's NPE.

The task is sbibm's "two_moons" (Lueckmann et al. 2021, Benchmarking Simulation-Based
Inference, AISTATS, https://arxiv.org/abs/2101.04653; simulator as in
github.com/sbi-benchmark/sbibm, sbibm/tasks/two_moons/task.py, commit f0bc440):

  theta ~ U([-1, 1]^2),  a ~ U(-pi/2, pi/2),  r ~ N(0.1, 0.01^2),
  p = (r cos a + 0.25, r sin a),
  x = p + (-|theta1 + theta2| / sqrt(2), (-theta1 + theta2) / sqrt(2)).

Observations: sbibm's published observations 1-5 (files/num_observation_k/observation.csv;
their true parameters in true_parameters.csv), hard-coded below.

Reference posterior, from the exact likelihood on a grid: with q = x - offset(theta) -
(0.25, 0), the noise density is p(q) = N(|q|; 0.1, 0.01^2) / (pi |q|) for q1 > 0, else 0
(polar change of variables; the Jacobian is r). (sbibm's `_likelihood` omits the 1/(pi |q|)
factor; its reference samples do not use it: they invert simulated noise, which is exact.)
The posterior, a bimodal pair of crescents of width ~0.01, is evaluated at the centres of a
`--grid` x `--grid` grid (2000: spacing 0.001) over the prior box; reference samples pick a
cell by its mass and jitter uniformly inside it. Checks, printed per observation: the total
variation between the grid and a grid of half the spacing (cells summed 2x2), which shows
the grid is fine enough; the C2ST of grid samples against samples of sbibm's closed-form
sampler (noise drawn from the simulator, inverted, a random sign for theta1 + theta2, kept if
inside the prior), which should read ~0.5; and the posterior mass within 0.05 of the true
theta or its mirror image (same x) against those balls' prior mass 0.004. (Once, by hand:
the C2ST of 10,000 grid samples against sbibm's published reference samples of observation
1 was 0.497.)

Simulations: `--num_simulations` (10,000) pairs, drawn in numpy from the generator
[20210, seed]; the same pairs go to both libraries (to PyTorch as a temporary .npz).

Ours: `tff.models.nsf(2, conditional_event_shape=[2], seed=seed)` with its defaults (5
autoregressive spline layers, MADE [128, 128], 8 bins, bound 5; `--num_bins`, `--bound`
change the spline), trained as sbi trains:
theta and x z-scored with the training split's mean and sd (samples are drawn in z-space
and mapped back), 10% held out for validation, Adam 5e-4, batch 200 without replacement
(last partial batch dropped), gradients clipped to global norm 5, stop after 20 epochs
without a better validation loss and keep the best weights. Like sbi's posterior, samples
outside the prior box are rejected, and log-densities are divided by the accepted fraction.
Peer: sbi's `NPE(prior, density_estimator="nsf")` (its NSF: 5 coupling layers of 10-bin
splines on [-3, 3], residual nets of 50 units, LU-linear mixing; NPE's own default
estimator is "maf") with `train()`'s defaults (the same ones listed above, from sbi 0.27.0).
Both run with one intra-op thread (`tf.config.threading`, `torch.set_num_threads(1)`);
sbi runs under `--torch_python` in a subprocess that imports no TensorFlow.

Scores, per observation, of 10,000 posterior samples against 10,000 reference samples:
  C2ST   sbibm's `c2st` (sbibm/metrics/c2st.py): z-scored with the reference's mean and sd,
         sklearn MLPClassifier (relu, 2 hidden layers of 10 * dim, adam, max_iter 10000,
         random_state 1), 5-fold shuffled KFold (random_state 1), mean accuracy; 0.5 is
         perfect, 1.0 fully separable.
  KL     KL(p || q) estimated as the mean over the reference samples of log p - log q (nats),
         p the grid posterior's density (constant in each cell: the density the reference
         samples are drawn from), q the method's density truncated to the prior box.

Run from the repository root (CPU; a full run took ~9 min on 2 busy cores: ours trained in
~1 min (90 epochs), sbi in ~3.5 min (165 epochs), 15 C2STs of 5-30 s):
  /work/venvs/torch/bin/pip install sbi torch==2.13.0
  PYTHONPATH=. .venv/bin/python benchmarks/sbi_two_moons.py --torch_python=/work/venvs/torch/bin/python
  PYTHONPATH=. .venv/bin/python benchmarks/sbi_two_moons.py --quick   # smoke run, ~2 min
Options: --seed=0 --num_simulations=10000 --num_observations=5 --num_samples=10000
--grid=2000 --max_epochs=N (0: no cap) --num_bins=8 --bound=5 (our spline; sbi's NSF is
--num_bins=10 --bound=3) --quick (2,000 simulations, 1 observation, at most 30 epochs, 2,000
samples).
"""

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

# sbibm two_moons observations 1-5 and their true parameters.
OBSERVATIONS = np.array([[-0.6396706, 0.16234657], [-0.5676688, -0.33194834],
                         [0.0030109584, -0.6457662], [-0.25049388, 0.633055],
                         [-0.66463584, -0.42604533]])
TRUE_THETAS = np.array([[-0.8176656, -0.5756806], [-0.28899693, -0.8759459],
                        [0.73016036, -0.3217839], [-0.8023417, 0.011640668],
                        [-0.43228424, -0.9955981]])
R_LOC, R_SCALE, BASE_OFFSET = 0.1, 0.01, 0.25
SIM_SEED, REF_SEED = 20210, 20211
LR, BATCH, VALIDATION_FRACTION, STOP_AFTER_EPOCHS, CLIP_NORM = 5e-4, 200, 0.1, 20, 5.0


# ------------------------------------------------ our flow's conditional API (one place)

def our_log_prob(dist, theta, x):
  """log q(theta | x), `theta: [N, 2]`, `x: [N, 2]`."""
  return dist.log_prob(theta, context=x)


def our_sample(dist, n, x, seed):
  """`[n, 2]` samples given one context `x: [2]`."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  return dist.sample(n, seed=seed, context=tf.cast(x, tf.float32))


# ----------------------------------------------------------------------- task (numpy)

def offset(theta):
  theta = np.asarray(theta, np.float64)
  return np.stack([-np.abs(theta[..., 0] + theta[..., 1]) / math.sqrt(2),
                   (theta[..., 1] - theta[..., 0]) / math.sqrt(2)], -1)


def simulate(theta, rng):
  a = rng.uniform(-math.pi / 2, math.pi / 2, len(theta))
  r = rng.normal(R_LOC, R_SCALE, len(theta))
  return np.stack([r * np.cos(a) + BASE_OFFSET, r * np.sin(a)], -1) + offset(theta)


def log_likelihood(t1, t2, x_o):
  """Exact log p(x_o | theta), theta = (t1, t2) broadcast together."""
  s = math.sqrt(2)
  u = x_o[0] + np.abs(t1 + t2) / s - BASE_OFFSET
  v = x_o[1] - (t2 - t1) / s
  r = np.sqrt(u**2 + v**2)
  log_p = (-0.5 * ((r - R_LOC) / R_SCALE) ** 2 - math.log(math.sqrt(2 * math.pi) * R_SCALE)
           - np.log(math.pi * np.maximum(r, 1e-300)))
  return np.where(u > 0, log_p, -np.inf)


def grid_posterior(x_o, n):
  """(cell masses `[n, n]` (theta1, theta2 at cell centres), log normaliser log Z)."""
  centres = -1 + (np.arange(n) + 0.5) * (2 / n)
  log_lik = np.concatenate([log_likelihood(centres[i:i + 500, None], centres[None], x_o)
                            for i in range(0, n, 500)])
  top = log_lik.max()
  mass = np.exp(log_lik - top)
  total = mass.sum()
  return mass / total, top + math.log(total * (2 / n) ** 2)


def grid_log_density(theta, masses):
  """Log-density of the grid posterior (constant in each cell), the reference's own."""
  n = masses.shape[0]
  i, j = (np.clip(((theta[:, k] + 1) * (n / 2)).astype(int), 0, n - 1) for k in (0, 1))
  return np.log(masses[i, j]) + 2 * math.log(n / 2)


def sample_grid(masses, num, rng):
  n = masses.shape[0]
  i, j = np.divmod(rng.choice(n * n, size=num, p=masses.ravel()), n)
  return np.stack([i, j], -1) * (2 / n) - 1 + rng.uniform(0, 2 / n, (num, 2))


def sample_closed_form(x_o, num, rng):
  """sbibm's `_sample_reference_posterior`, vectorised: invert simulated noise."""
  out = []
  while sum(len(o) for o in out) < num:
    p = simulate(np.zeros((4 * num, 2)), rng)
    z0 = (p[:, 0] - x_o[0]) * rng.choice([-1.0, 1.0], 4 * num)  # +-|theta1 + theta2| / sqrt2
    z1 = x_o[1] - p[:, 1]
    theta = np.stack([z0 - z1, z0 + z1], -1) / math.sqrt(2)
    out.append(theta[(p[:, 0] >= x_o[0]) & np.all(np.abs(theta) <= 1, -1)])
  return np.concatenate(out)[:num]


def c2st(reference, samples, seed=1, n_folds=5):
  """sbibm.metrics.c2st: accuracy of an MLP telling `samples` from `reference`."""
  from sklearn.model_selection import KFold, cross_val_score  # pylint: disable=import-outside-toplevel
  from sklearn.neural_network import MLPClassifier  # pylint: disable=import-outside-toplevel
  reference, samples = (np.asarray(a, np.float32) for a in (reference, samples))
  mean, sd = reference.mean(0), reference.std(0, ddof=1)
  data = np.concatenate([(reference - mean) / sd, (samples - mean) / sd])
  target = np.concatenate([np.zeros(len(reference)), np.ones(len(samples))])
  dim = reference.shape[1]
  classifier = MLPClassifier(activation="relu", hidden_layer_sizes=(10 * dim, 10 * dim),
                             max_iter=10000, solver="adam", random_state=seed)
  folds = KFold(n_splits=n_folds, shuffle=True, random_state=seed)
  return float(np.mean(cross_val_score(classifier, data, target, cv=folds, scoring="accuracy")))


# ------------------------------------------------------------------------- ours (TF)

def run_ours(theta, x, observations, references, args):
  """Trains our NSF as sbi trains; returns sbi-side-shaped results."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  import keras  # pylint: disable=import-outside-toplevel
  import tfp_flows as tff  # pylint: disable=import-outside-toplevel
  tf.config.threading.set_intra_op_parallelism_threads(1)
  keras.utils.set_random_seed(args.seed)
  rng = np.random.default_rng([args.seed, 1])
  order = rng.permutation(len(theta))
  num_train = int((1 - VALIDATION_FRACTION) * len(theta))
  train, val = order[:num_train], order[num_train:]
  t_mean, x_mean = theta[train].mean(0), x[train].mean(0)
  t_sd, x_sd = theta[train].std(0), x[train].std(0)
  tz = tf.constant((theta - t_mean) / t_sd, tf.float32)
  xz = tf.constant((x - x_mean) / x_sd, tf.float32)
  log_sd = float(np.log(t_sd).sum())  # log q(theta) = log q_z(theta_z) - log_sd

  dist = tff.models.nsf(2, conditional_event_shape=[2], num_bins=args.num_bins,
                        bound=args.bound, seed=args.seed)
  our_log_prob(dist, tz[:2], xz[:2])  # Creates every weight before they are listed.
  variables = dist.trainable_variables
  optimizer = keras.optimizers.Adam(LR)

  @tf.function
  def train_step(idx):
    with tf.GradientTape() as tape:
      loss = -tf.reduce_mean(our_log_prob(dist, tf.gather(tz, idx), tf.gather(xz, idx)))
    grads, _ = tf.clip_by_global_norm(tape.gradient(loss, variables), CLIP_NORM)
    optimizer.apply_gradients(zip(grads, variables))
    return loss

  val_t, val_x = tf.gather(tz, val), tf.gather(xz, val)
  val_loss = tf.function(lambda: -tf.reduce_mean(our_log_prob(dist, val_t, val_x)),
                         autograph=False)
  best, best_weights, since, epoch = math.inf, None, 0, 0
  start = time.perf_counter()
  while since < STOP_AFTER_EPOCHS and not (args.max_epochs and epoch >= args.max_epochs):
    perm = rng.permutation(train)
    for b in range(num_train // BATCH):
      train_step(tf.constant(perm[b * BATCH:(b + 1) * BATCH]))
    epoch += 1
    loss = float(val_loss())
    if loss < best:
      best, best_weights, since = loss, [v.numpy() for v in variables], 0
    else:
      since += 1
  for v, w in zip(variables, best_weights):
    v.assign(w)
  seconds = time.perf_counter() - start

  sample = tf.function(lambda n, c, s: our_sample(dist, n, c, s), autograph=False)
  log_prob = tf.function(lambda t, c: our_log_prob(dist, t, c), autograph=False)
  samples, log_probs = [], []
  for k, x_o in enumerate(observations):
    c = tf.constant((x_o - x_mean) / x_sd, tf.float32)
    kept, drawn, chunk = [], 0, args.num_samples
    while sum(len(a) for a in kept) < args.num_samples:
      z = sample(chunk, c, tf.constant([args.seed, 1000 * k + len(kept)])).numpy()
      t = z * t_sd + t_mean
      kept.append(t[np.all(np.abs(t) <= 1, -1)])
      drawn += chunk
    accepted = sum(len(a) for a in kept) / drawn
    samples.append(np.concatenate(kept)[:args.num_samples])
    ref = tf.constant((references[k] - t_mean) / t_sd, tf.float32)
    context = tf.tile(c[None], [len(ref), 1])
    log_probs.append(log_prob(ref, context).numpy() - log_sd - math.log(accepted))
  return {"samples": np.stack(samples), "log_prob_ref": np.stack(log_probs),
          "seconds": seconds, "epochs": epoch, "best_val": best + log_sd,
          "params": sum(int(np.prod(v.shape)) for v in variables)}


# ------------------------------------------------------------------ peer (PyTorch, sbi)

def run_sbi_worker(in_path, out_path):
  """Runs in the PyTorch venv: reads the simulations, writes samples and log-densities."""
  import warnings  # pylint: disable=import-outside-toplevel
  import torch  # pylint: disable=import-outside-toplevel
  import sbi  # pylint: disable=import-outside-toplevel
  from sbi.inference import NPE  # pylint: disable=import-outside-toplevel
  from sbi.utils import BoxUniform  # pylint: disable=import-outside-toplevel
  data = np.load(in_path)
  seed, max_epochs, num_samples = (int(data[k]) for k in ("seed", "max_epochs", "num_samples"))
  warnings.filterwarnings("ignore", message=".*triangular_solve is deprecated")  # nflows' LU
  torch.set_num_threads(1)
  torch.manual_seed(seed)
  prior = BoxUniform(low=-torch.ones(2), high=torch.ones(2))
  inference = NPE(prior=prior, density_estimator="nsf", show_progress_bars=False)
  inference.append_simulations(torch.as_tensor(data["theta"], dtype=torch.float32),
                               torch.as_tensor(data["x"], dtype=torch.float32))
  start = time.perf_counter()
  # sbi trains epochs 0..max_num_epochs: max_epochs - 1 gives max_epochs epochs, as ours.
  estimator = inference.train(**({"max_num_epochs": max_epochs - 1} if max_epochs else {}))
  seconds = time.perf_counter() - start
  print(flush=True)  # sbi's "converged after N epochs" line ends without a newline.
  posterior = inference.build_posterior()
  samples, log_probs = [], []
  with torch.no_grad():
    for x_o, ref in zip(data["observations"], data["references"]):
      x_o = torch.as_tensor(x_o, dtype=torch.float32)
      samples.append(posterior.sample((num_samples,), x=x_o, show_progress_bars=False).numpy())
      log_probs.append(posterior.log_prob(torch.as_tensor(ref, dtype=torch.float32),
                                          x=x_o).numpy())
  np.savez(out_path, samples=np.stack(samples), log_prob_ref=np.stack(log_probs),
           seconds=seconds, epochs=inference._summary["epochs_trained"][-1],  # pylint: disable=protected-access
           best_val=inference._summary["best_validation_loss"][-1],  # pylint: disable=protected-access
           params=sum(p.numel() for p in estimator.parameters()),
           versions=f"sbi {sbi.__version__}, torch {torch.__version__}")


def run_sbi(theta, x, observations, references, args):
  with tempfile.TemporaryDirectory() as tmp:
    in_path, out_path = os.path.join(tmp, "in.npz"), os.path.join(tmp, "out.npz")
    np.savez(in_path, theta=theta.astype(np.float32), x=x.astype(np.float32),
             observations=observations, references=references, seed=args.seed,
             max_epochs=args.max_epochs, num_samples=args.num_samples)
    # cwd=tmp: sbi's TensorBoard logs (./sbi-logs) go away with the folder.
    subprocess.run([args.torch_python, os.path.abspath(__file__), "--worker", in_path,
                    out_path], cwd=tmp, check=True)
    with np.load(out_path) as out:
      return {k: out[k] if out[k].ndim else out[k].item() for k in out.files}


# ---------------------------------------------------------------------------- driver

def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--num_simulations", type=int, default=10000)
  parser.add_argument("--num_observations", type=int, default=5)
  parser.add_argument("--num_samples", type=int, default=10000)
  parser.add_argument("--grid", type=int, default=2000)
  parser.add_argument("--max_epochs", type=int, default=0, help="cap on epochs (0: none)")
  parser.add_argument("--num_bins", type=int, default=8, help="our spline's bins (nsf's 8)")
  parser.add_argument("--bound", type=float, default=5., help="our spline's bound (nsf's 5)")
  parser.add_argument("--quick", action="store_true")
  parser.add_argument("--torch_python", default="/work/venvs/torch/bin/python")
  parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.worker:  # The PyTorch side: no TensorFlow in this process.
    run_sbi_worker(*args.worker)
    return
  if args.quick:
    args.num_simulations, args.num_observations, args.num_samples = 2000, 1, 2000
    args.max_epochs = args.max_epochs or 30
  print(" ".join([os.path.basename(sys.executable), *sys.argv]), flush=True)
  observations = OBSERVATIONS[:args.num_observations]

  rng = np.random.default_rng([SIM_SEED, args.seed])
  theta = rng.uniform(-1, 1, (args.num_simulations, 2))
  x = simulate(theta, rng)
  references, grids = [], []
  print(f"reference posteriors on a {args.grid}^2 grid (checked against {2 * args.grid}^2):")
  for k, (x_o, theta_o) in enumerate(zip(observations, TRUE_THETAS)):
    ref_rng = np.random.default_rng([REF_SEED, k])
    masses, log_z = grid_posterior(x_o, args.grid)
    fine, fine_log_z = grid_posterior(x_o, 2 * args.grid)
    tv = 0.5 * np.abs(masses - fine.reshape(args.grid, 2, args.grid, 2).sum((1, 3))).sum()
    references.append(sample_grid(masses, args.num_samples, ref_rng))
    grids.append(masses)
    mirror = theta_o[::-1] * -1  # theta1 + theta2 -> -(theta1 + theta2), same x.
    near = np.minimum(*(np.linalg.norm(references[-1] - t, axis=-1) for t in (theta_o, mirror)))
    check = c2st(references[-1], sample_closed_form(x_o, args.num_samples, ref_rng))
    print(f"  obs {k + 1}: TV(grid, half-spacing grid) {tv:.1e}, log Z {log_z:.4f} vs "
          f"{fine_log_z:.4f}; C2ST(grid, sbibm closed form) {check:.3f}; mass within 0.05 "
          f"of true theta or mirror {np.mean(near < 0.05):.3f} (prior 0.004)", flush=True)
  references = np.stack(references)

  results = {}
  for name, runner in (("ours", run_ours), ("sbi", run_sbi)):
    start = time.perf_counter()
    results[name] = runner(theta, x, observations, references, args)
    r = results[name]
    print(f"{name}: {r['params']:,} parameters, {r['epochs']} epochs, {r['seconds']:.1f} s "
          f"training ({time.perf_counter() - start:.1f} s in all), best validation NLL "
          f"{r['best_val']:.4f}{'; ' + r['versions'] if 'versions' in r else ''}", flush=True)

  rows = []
  for k, x_o in enumerate(observations):
    ref_log_p = grid_log_density(references[k], grids[k]).mean()
    row = [k + 1]
    for name in results:
      row.append(c2st(references[k], results[name]["samples"][k]))
      row.append(ref_log_p - results[name]["log_prob_ref"][k].mean())
    rows.append(row)
    print(f"  obs {k + 1} scored", flush=True)
  rows = np.array(rows, np.float64)
  print(f"\ncommand: PYTHONPATH=. python {' '.join(sys.argv)}")
  print(f"two moons: {args.num_simulations} simulations (seed {args.seed}), ours "
        f"nsf(num_bins={args.num_bins}, bound={args.bound}), "
        f"{args.num_samples} posterior and reference samples per observation (sbibm "
        f"observations 1..{len(observations)})")
  print(f"{'observation':<14}{'ours C2ST':>10}{'sbi C2ST':>10}{'ours KL':>10}{'sbi KL':>10}")
  for row in list(rows) + [np.concatenate([[0], rows[:, 1:].mean(0)])]:
    label = f"{int(row[0])}" if row[0] else "mean"
    print(f"{label:<14}{row[1]:>10.3f}{row[3]:>10.3f}{row[2]:>10.3f}{row[4]:>10.3f}")
  print("C2ST: 0.5 is perfect; KL: KL(reference || method) in nats, from the reference "
        "samples.")
  print(f"train seconds: ours {results['ours']['seconds']:.1f}, sbi "
        f"{results['sbi']['seconds']:.1f}; parameters: ours {results['ours']['params']:,}, "
        f"sbi {results['sbi']['params']:,}")


if __name__ == "__main__":
  main()
