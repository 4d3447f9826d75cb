"""A turning mixture: how far each conditional flow's density p(x | c) is from the truth.

The condition is c ~ U(0, 1); given c, x is an equal mixture of 4 isotropic Gaussians in 2-D,
sd 0.25, means on a circle of radius 2 at angles 2 pi k / 4 + c pi / 2 (k = 0..3): as c goes
from 0 to 1 the four modes turn by a quarter turn, so the picture at c = 1 is the one at c = 0
and every mode sweeps an arc between them. The flow has to learn to move narrow, well
separated modes with c; an affine MAF cannot split one normal into four and pays for it.
20,000 train and 20,000 test pairs (c, x) are drawn once with a fixed seed (the same pairs
for every model and every `--seeds` value). log p(x | c) is exact (a logsumexp), so each
model is scored by

    gap = mean_test [log p(x | c) - log q(x | c)]   (nats; estimates E_c KL(p(.|c) || q(.|c)) >= 0)

Every model is trained "as a new user would": default sizes, Adam at a constant 1e-3,
`--steps` (3000) steps of batch 256 drawn with replacement, on the raw coordinates and the
raw c (no standardisation). At a given seed every model sees the same sequence of
minibatches; the seed also fixes its initial weights (`seed=` of our builders,
`torch.manual_seed`).

Models (`--models`, comma-separated; default: all):
  maf, nsf, nsf_coupling   tff.models.maf(2, conditional_event_shape=[1]), nsf(2, ...),
                           nsf(2, coupling=True, ...); density `dist.log_prob(x, context=c)`
  zuko_maf, zuko_nsf       zuko.flows.MAF / NSF(features=2, context=1, transforms=5,
                           hidden_features=[128, 128]); density `flow(c).log_prob(x)`
The PyTorch models run in this process when `torch` imports here, else in a subprocess under
`--torch_python` (a venv with `torch==2.13.0 zuko numpy`; that process imports no
TensorFlow), else they are skipped.

Run from the repository root (CPU; on 2 busy cores use --threads=1, as in
`ring_of_gaussians.py`):
  PYTHONPATH=. .venv/bin/python benchmarks/conditional_mixture.py --threads=1 --torch_python=/work/venvs/torch/bin/python
  PYTHONPATH=. .venv/bin/python benchmarks/conditional_mixture.py --quick --threads=1   # smoke run
Options: --seeds=0,1 --steps=3000 --models=maf,zuko_maf --batch=256 --lr=1e-3 --json=PATH,
--threads=N (intra-op threads of TF and PyTorch; default: each library's own).

It prints one line per (model, seed) as it goes, then a table: parameters (every entry of
every weight tensor, masked ones included, as PyTorch counts them), the gap averaged over
the seeds and per seed, the test NLL, the train seconds per seed (including tracing) and the
largest minibatch loss in the second half of training (a spike there means instability;
"diverged" if a loss was not finite). Last, the gap of the best model per bin of c, to show
whether it is uniform in c.

The harness (training, the PyTorch subprocess, the options, the table) is `density_gap.py`'s,
shared with `ring_of_gaussians.py`; this file has the target, its data, the models and the gap
per bin of c.
"""

import sys

import numpy as np

from benchmarks import density_gap

NUM_MODES, RADIUS, SD, TURN = 4, 2.0, 0.25, np.pi / 2  # TURN: the angle the modes turn by
DATA_SEED, NUM_TRAIN, NUM_TEST = 20241, 20000, 20000
C_BINS = (0.0, 0.25, 0.5, 0.75, 1.0)

TF_MODELS = ("maf", "nsf", "nsf_coupling")
TORCH_MODELS = ("zuko_maf", "zuko_nsf")
# The table's first line, up to the true test NLL, and what its "gap" is.
TITLE = (f"turning mixture of {NUM_MODES} Gaussians (radius {RADIUS}, sd {SD}, turn "
         f"{TURN / np.pi:g} pi over c in [0, 1]): {NUM_TRAIN} train / {NUM_TEST} test pairs")
GAP_NOTE = "mean test [log p(x|c) - log q(x|c)] (nats, estimates E_c KL(p || q))"


# ----------------------------------------------------------------------------- data (numpy)

def means(c):
  """Mode centres at each c, `[N] -> [N, NUM_MODES, 2]` (float64)."""
  angles = 2 * np.pi * np.arange(NUM_MODES) / NUM_MODES + TURN * np.asarray(c, np.float64)[:, None]
  return RADIUS * np.stack([np.cos(angles), np.sin(angles)], -1)


def make_data(seed=DATA_SEED):
  """((x_train, c_train), (x_test, c_test)), float32 `[20000, 2]` and `[20000, 1]`."""
  rng = np.random.default_rng(seed)
  n = NUM_TRAIN + NUM_TEST
  c = rng.uniform(0.0, 1.0, n)
  x = means(c)[np.arange(n), rng.integers(0, NUM_MODES, n)] + SD * rng.standard_normal((n, 2))
  c, x = c[:, None].astype(np.float32), x.astype(np.float32)
  return (x[:NUM_TRAIN], c[:NUM_TRAIN]), (x[NUM_TRAIN:], c[NUM_TRAIN:])


def true_log_prob(x, c):
  """Exact log p(x | c) (float64), `[N, 2], [N, 1] -> [N]`."""
  d2 = ((np.asarray(x, np.float64)[:, None, :] - means(np.asarray(c)[:, 0])) ** 2).sum(-1)
  log_components = -d2 / (2 * SD**2) - np.log(2 * np.pi * SD**2) - np.log(NUM_MODES)
  top = log_components.max(-1)
  return top + np.log(np.exp(log_components - top[:, None]).sum(-1))


def score(log_q, test, true_nll):
  """A run's gap, the mean of log p(x | c) - log q(x | c) over the test pairs, and per bin of c."""
  del true_nll
  x, c = test
  gaps = true_log_prob(x, c) - np.asarray(log_q, np.float64)
  which = np.digitize(c[:, 0], C_BINS[1:-1])
  return {"gap": float(gaps.mean()),
          "bin_gaps": [float(gaps[which == b].mean()) for b in range(len(C_BINS) - 1)]}


def after_table(results, mean_gaps):
  """The gap per bin of c of the best model (least mean gap), mean over seeds."""
  finite = {n: g for n, g in mean_gaps.items() if np.isfinite(g)}
  if finite:
    best = min(finite, key=finite.get)
    bins = np.mean([r["bin_gaps"] for r in results[best].values()], 0)
    labels = "  ".join(f"[{lo:g}, {hi:g}): {g:.3f}"
                       for lo, hi, g in zip(C_BINS[:-1], C_BINS[1:], bins))
    print(f"gap of the best model ({best}) per bin of c, mean over seeds: {labels}")


# ------------------------------------------------------------------------ TensorFlow models

def tf_builders():
  """{name: builder(seed)} of our conditional flows."""
  import tfp_flows as tff  # pylint: disable=import-outside-toplevel
  conditional = {"conditional_event_shape": [1]}
  return {"maf": lambda seed: tff.models.maf(2, **conditional, seed=seed),
          "nsf": lambda seed: tff.models.nsf(2, **conditional, seed=seed),
          "nsf_coupling": lambda seed: tff.models.nsf(2, coupling=True, **conditional, seed=seed)}


def tf_log_prob(dist, x, c):
  return dist.log_prob(x, context=c)


# --------------------------------------------------------------------------- PyTorch models

def torch_builders():
  """{name: builder()} of zuko's conditional flows; each returns `(flow, log_prob(x, c))`."""
  try:
    import zuko  # pylint: disable=import-outside-toplevel
  except ImportError:
    return {}
  def zuko_flow(cls):
    def build():
      flow = cls(features=2, context=1, transforms=5, hidden_features=[128, 128])
      return flow, lambda x, c: flow(c).log_prob(x)
    return build
  return {"zuko_maf": zuko_flow(zuko.flows.MAF), "zuko_nsf": zuko_flow(zuko.flows.NSF)}


if __name__ == "__main__":
  density_gap.main(sys.modules[__name__])
