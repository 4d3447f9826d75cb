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

The harness (training, the PyTorch subprocess, the options, the table) is `density_gap.py`'s,
shared with `conditional_mixture.py`; this file has the target, its data and the models.
"""

import inspect
import sys

import numpy as np

from benchmarks import density_gap

NUM_MODES, RADIUS, SD = 8, 2.0, 0.2
DATA_SEED, NUM_TRAIN, NUM_TEST = 20240, 20000, 20000

TF_MODELS = ("maf", "iaf", "mixture_cdf_flow", "nsf", "nsf_coupling")
TORCH_MODELS = ("zuko_maf", "zuko_nsf", "nflows_maf")
# The table's first line, up to the true test NLL, and what its "gap" is.
TITLE = (f"ring of {NUM_MODES} Gaussians (radius {RADIUS}, sd {SD}): {NUM_TRAIN} train / "
         f"{NUM_TEST} test points")
GAP_NOTE = "test NLL - true test NLL (nats, estimates KL(p || q))"


# ----------------------------------------------------------------------------- data (numpy)

def means():
  angles = 2 * np.pi * np.arange(NUM_MODES) / NUM_MODES
  return RADIUS * np.stack([np.cos(angles), np.sin(angles)], -1)


def make_data(seed=DATA_SEED):
  """((x_train,), (x_test,)), float32 `[20000, 2]` each, from one fixed generator."""
  rng = np.random.default_rng(seed)
  n = NUM_TRAIN + NUM_TEST
  x = means()[rng.integers(0, NUM_MODES, n)] + SD * rng.standard_normal((n, 2))
  x = x.astype(np.float32)
  return (x[:NUM_TRAIN],), (x[NUM_TRAIN:],)


def true_log_prob(x):
  """Exact log-density of the ring (float64), `[N, 2] -> [N]`."""
  d2 = ((np.asarray(x, np.float64)[:, None, :] - means()[None]) ** 2).sum(-1)
  log_components = -d2 / (2 * SD**2) - np.log(2 * np.pi * SD**2) - np.log(NUM_MODES)
  top = log_components.max(-1)
  return top + np.log(np.exp(log_components - top[:, None]).sum(-1))


def score(log_q, test, true_nll):
  """A run's gap: its test NLL less the true one."""
  del test
  return {"gap": float(-np.mean(log_q)) - true_nll}


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


def tf_log_prob(dist, x):
  return dist.log_prob(x)


# --------------------------------------------------------------------------- PyTorch models

def torch_builders():
  """{name: builder()} of the PyTorch flows that import; each returns `(flow, log_prob(x))`."""
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


if __name__ == "__main__":
  density_gap.main(sys.modules[__name__])
