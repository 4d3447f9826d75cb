"""Speed of tfp_flows' vector flows (affine MAF, spline MAF, spline coupling) against TFP's
MAF and PyTorch's zuko and nflows, side by side in one run.

Ours (TF, this process), default D=16, L=5 layers, hidden (256, 256), batch 512, float32:
  affine MAF     `tff.models.maf(D, num_layers=L, hidden_units=H)`
  spline MAF     `tff.models.nsf(D, num_layers=L, hidden_units=H, num_bins=8, bound=5.)`
  spline coupling  the same with `coupling=True` ("half" masks, an MLP of widths H per layer)
TFP (TF, this process):
  TFP MAF        `benchmarks/maf_vs_tfp.py`'s `tfp_flow(D, L, H)`: a `tfb.Chain` of L
                 `tfb.MaskedAutoregressiveFlow(tfb.AutoregressiveNetwork(params=2,
                 hidden_units=H, activation="relu"))` with `tfb.Permute(reversed)` between
                 layers, a `tfd.Sample(tfd.Normal(0, 1), [D])` base
Peers (PyTorch, eager, in a subprocess under /work/venvs/torch/bin/python; this process
never imports torch):
  zuko MAF       `zuko.flows.MAF(features=D, transforms=L, hidden_features=H)`
  nflows affine MAF  L `MaskedAffineAutoregressiveTransform(features=D, hidden_features=H[0],
                 num_blocks=len(H)-1, use_residual_blocks=False)` (a MADE D -> H[0] -> ...
                 -> D x 2, relu) with `ReversePermutation` between layers
  zuko NSF       `zuko.flows.NSF(features=D, transforms=L, hidden_features=H, bins=8)`
  zuko NSF coupling  the same with `passes=2` (a masked MLP over all D inputs; the first
                 half's splines depend on biases only, so it transforms all D coordinates)
  nflows MAF     L `MaskedPiecewiseRationalQuadraticAutoregressiveTransform(D, H[0],
                 num_bins=8, tails="linear", tail_bound=5, num_blocks=len(H)-1,
                 use_residual_blocks=False)` (a MADE D -> H[0] -> ... -> D x 23, relu; its
                 one hidden width is H[0]) with `ReversePermutation` between layers
  nflows coupling  L `PiecewiseRationalQuadraticCouplingTransform` ("half" masks
                 alternating like ours, `nflows.nn.nets.MLP(hidden_sizes=H)`, same tails)
  All standard normal bases (nflows `StandardNormal`, zuko `DiagNormal(0, 1)`).
Kinds compared (PEERS): ours affine MAF with TFP MAF, zuko MAF and nflows affine MAF; ours
spline MAF with zuko NSF and nflows MAF; ours spline coupling with zuko NSF coupling and
nflows coupling. Parameter counts are printed, each peer's with its ratio to ours.

Operations: an Adam (lr 1e-4) train step on -mean log_prob of a fixed batch, log_prob of
the batch, sample(batch). Ours and TFP's run in a `tf.function`, with and without
`jit_compile=True` (Keras 3 `keras.optimizers.Adam`; `maf_vs_tfp.operations`); the peers
eagerly (`torch.optim.Adam`, log_prob and sample under `torch.no_grad()`). Timing
(`benchmarks/side_by_side.py`): after a warm-up (trace, compile, two calls) each model's N
(calls per repeat, ~0.3 s a repeat) is calibrated; then every repeat times N calls of every
model of that operation in turn (the TF models with XLA off and on, and the peers, which the
TF process drives one repeat at a time over a pipe, so all of them share each repeat's
machine state); the order rotates and alternates between repeats. The table shows the
median ms per call; "cpu" is process CPU time / wall time during the timed calls (2.0 = both
cores busy).

Goals (the performance issue's; each printed "met"/"NOT met" with its ratio, medians, and
for each of ours' XLA settings): ours affine MAF log_prob and sample <= 0.9x the fastest
peer of that op (TFP MAF with XLA off or on, zuko MAF, nflows affine MAF; it is named),
its train step <= 0.7x; ours spline MAF and spline coupling < 1.0x the faster of zuko's and
nflows' of the same kind on train step and log_prob; spline MAF train step and log_prob
<= 1.4x ours affine MAF's; spline coupling sample <= 1.5x its log_prob.

The floors ("matmul floor" rows, timed in the same interleaved repeats as the models): the
matmuls alone of a MAF log_prob at these sizes (L dense MLPs of a MADE's shapes, one after
another, no masks, no transform; `matmul_floor`), and of a train step (their weights'
gradients and a Keras Adam step), with XLA off and on, with their GFLOP/s; each MAF's log_prob and train step
over the faster floor (fastest repeats, and medians) says how close to this machine's
limit it runs.

Threads: TF with its defaults (intra-op and inter-op pools of os.cpu_count() threads);
torch with `torch.set_num_threads(--torch_threads)` (default: the CPU count, i.e. 2 here,
the same number TF's intra-op pool has), inter-op threads left at its default. The last
line says how much CPU each side used while the other was timed (should be ~0). torch's
OpenMP threads meet at a barrier in every parallel op, so when another process holds a core
torch with 2 threads slows down many-fold (a D=4, hidden 16 toy at load 3: 9 ms per train
step with 1 thread, 250-470 ms with 2) while TF degrades gracefully: run this on an
otherwise idle machine (see the load averages it prints), or also with --torch_threads=1.

Run from the repository root (CPU; 3.5 minutes on an idle machine; --quick took 6 minutes at load 5):
  PYTHONPATH=. .venv/bin/python benchmarks/vector_flows_speed.py
  PYTHONPATH=. .venv/bin/python benchmarks/vector_flows_speed.py --quick --no_torch
Options: --dim, --layers, --hidden=256,256, --batch, --repeats, --no_torch,
--torch_python=PATH, --torch_threads=N.
"""

import argparse
import datetime
import sys

import numpy as np

from benchmarks import readme
from benchmarks import side_by_side

OPS = ("train step", "log_prob", "sample")
XLA = ("", " [xla]")
# Ours against ours: (text, numerator, its op, denominator, its op, goal: ratio <= goal).
GOALS = [("spline MAF train step / affine MAF train step", "ours spline MAF", "train step",
          "ours affine MAF", "train step", 1.4),
         ("spline MAF log_prob / affine MAF log_prob", "ours spline MAF", "log_prob",
          "ours affine MAF", "log_prob", 1.4),
         ("spline coupling sample / its log_prob", "ours spline coupling", "sample",
          "ours spline coupling", "log_prob", 1.5)]
PEERS = {"ours affine MAF": ("TFP MAF", "zuko MAF", "nflows affine MAF"),
         "ours spline MAF": ("zuko NSF", "nflows MAF"),
         "ours spline coupling": ("zuko NSF coupling", "nflows coupling")}
# Ours against the fastest peer of its kind: (ours, op, goal), met when ours / peer <= goal
# (a goal of "< 1.0" is written as the largest float below it: ahead, not level).
PEER_GOALS = [("ours affine MAF", "log_prob", 0.9), ("ours affine MAF", "sample", 0.9),
              ("ours affine MAF", "train step", 0.7),
              ("ours spline MAF", "train step", "< 1.0"), ("ours spline MAF", "log_prob", "< 1.0"),
              ("ours spline coupling", "train step", "< 1.0"),
              ("ours spline coupling", "log_prob", "< 1.0")]


def data(batch, dim):
  """The fixed training/log_prob batch, the same in both processes."""
  return np.random.default_rng(0).standard_normal((batch, dim)).astype(np.float32)


# ------------------------------------------------------------------ PyTorch worker side.

def torch_builders(args):
  """{peer name: () -> (module, log_prob(x), sample(n))}, built at the benchmark's sizes."""
  import torch
  import zuko
  from nflows import distributions as ndist
  from nflows import flows as nflows_flows
  from nflows import transforms as ntr
  from nflows.nn import nets as nnets

  dim, layers, hidden = args.dim, args.layers, args.hidden

  def zuko_flow(flow):
    return flow, lambda v: flow().log_prob(v), lambda n: flow().sample((n,))

  class ContextFreeMLP(torch.nn.Module):
    """`nflows.nn.nets.MLP`, whose forward takes no context, as a coupling's network."""

    def __init__(self, n_in, n_out):
      super().__init__()
      self.mlp = nnets.MLP([n_in], [n_out], hidden_sizes=list(hidden))
      self.hidden_features = hidden[-1]  # nflows scales the raw widths/heights by its root.

    def forward(self, inputs, context=None):
      return self.mlp(inputs)

  def half_mask(i):
    """1: transformed. Layer 0 transforms the second half; the halves alternate."""
    mask = torch.zeros(dim)
    if i % 2 == 0:
      mask[dim // 2:] = 1
    else:
      mask[:dim // 2] = 1
    return mask

  def nflows_layer(kind, i):
    if kind == "coupling":
      return ntr.PiecewiseRationalQuadraticCouplingTransform(
          half_mask(i), ContextFreeMLP, num_bins=8, tails="linear", tail_bound=5.)
    if kind == "spline":
      return ntr.MaskedPiecewiseRationalQuadraticAutoregressiveTransform(
          features=dim, hidden_features=hidden[0], num_bins=8, tails="linear",
          tail_bound=5., num_blocks=len(hidden) - 1, use_residual_blocks=False)
    return ntr.MaskedAffineAutoregressiveTransform(
        features=dim, hidden_features=hidden[0], num_blocks=len(hidden) - 1,
        use_residual_blocks=False)

  def nflows_flow(kind):
    chain = []
    for i in range(layers):
      if i:
        chain.append(ntr.ReversePermutation(features=dim))
      chain.append(nflows_layer(kind, i))
    # nflows' transform maps data -> noise, so list the layers in the density direction.
    flow = nflows_flows.Flow(ntr.CompositeTransform(chain[::-1]), ndist.StandardNormal([dim]))
    return flow, flow.log_prob, flow.sample

  nsf = lambda **kwargs: zuko.flows.NSF(features=dim, transforms=layers,
                                        hidden_features=hidden, bins=8, **kwargs)
  return {"zuko MAF": lambda: zuko_flow(zuko.flows.MAF(features=dim, transforms=layers,
                                                       hidden_features=hidden)),
          "nflows affine MAF": lambda: nflows_flow("affine"),
          "zuko NSF": lambda: zuko_flow(nsf()),
          "zuko NSF coupling": lambda: zuko_flow(nsf(passes=2)),
          "nflows MAF": lambda: nflows_flow("spline"),
          "nflows coupling": lambda: nflows_flow("coupling")}


def torch_worker(args):
  """Builds the peers, checks them, and serves timing requests (`side_by_side.serve`)."""
  protocol = side_by_side.worker_protocol()
  import torch
  torch.set_num_threads(args.torch_threads)
  torch.manual_seed(0)
  x = torch.from_numpy(data(args.batch, args.dim))
  ops, params = {}, {}
  for name, build in torch_builders(args).items():
    module, log_prob, sample = build()
    ops[name], params[name] = side_by_side.torch_operations(
        module, lambda log_prob=log_prob: -log_prob(x).mean(),
        lambda log_prob=log_prob: log_prob(x), lambda sample=sample: sample(args.batch))
    # Sanity: a finite log-density, a sample of the right shape.
    assert torch.isfinite(ops[name]["log_prob"]()).all(), name
    assert tuple(ops[name]["sample"]().shape) == (args.batch, args.dim), name
  side_by_side.serve(protocol, ops, {
      "params": params, "versions": side_by_side.versions(("torch", "zuko", "nflows", "numpy")),
      "threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads(),
      "python": sys.executable})


# ------------------------------------------------------------------------- TF side.

def tf_models(args):
  """{name: distribution} of the TF process: ours three, and TFP's MAF."""
  import tfp_flows as tff
  from benchmarks import maf_vs_tfp  # Imports TF: only after the torch worker started.
  dim, layers, hidden = args.dim, args.layers, tuple(args.hidden)
  return {
      "ours affine MAF": tff.models.maf(dim, num_layers=layers, hidden_units=hidden),
      "ours spline MAF": tff.models.nsf(dim, num_layers=layers, hidden_units=hidden,
                                        num_bins=8, bound=5.),
      "ours spline coupling": tff.models.nsf(dim, num_layers=layers, hidden_units=hidden,
                                             num_bins=8, bound=5., coupling=True),
      "TFP MAF": maf_vs_tfp.tfp_flow(dim, layers, hidden)}


def tf_operations(dist, batch, jit):
  """{op: runner(n)} for the three timed operations of `dist`: `maf_vs_tfp.py`'s, on the
  fixed batch the torch side uses too."""
  import tensorflow as tf
  from benchmarks import maf_vs_tfp
  functions = maf_vs_tfp.operations(dist, batch, jit)
  x = tf.constant(data(batch, dist.event_shape[0]))
  return side_by_side.tf_runners(
      {op: (f, x if op != "sample" else arg) for op, (f, arg) in functions.items()})


def check_tf_models(models, batch, dim):
  """Sanity: each TF model's log_prob is finite and its sample has shape [batch, dim]."""
  x = data(batch, dim)
  for name, dist in models.items():
    assert np.all(np.isfinite(dist.log_prob(x).numpy())), name
    assert tuple(dist.sample(batch, seed=[0, 1]).shape) == (batch, dim), name


def print_goals(results):
  """Ours against ours (GOALS) and against the fastest peer of the same kind (PEER_GOALS)."""
  ratio = lambda *a, **k: side_by_side.ratio(results, *a, **k)
  print("\ngoals (median ratio; in brackets the ratio of the fastest repeats)")
  for text, a, op_a, b, op_b, goal in GOALS:
    for xla in XLA:
      r, rm = ratio(a + xla, op_a, b + xla, op_b), ratio(a + xla, op_a, b + xla, op_b, True)
      print(f"  {text:<48}{'xla' if xla else 'tf.function':<13}{r:>6.2f} ({rm:.2f})  "
            f"goal <= {goal}: {'met' if r <= goal else 'NOT met'}")
  print("\ngoals against the fastest peer of the same kind (any XLA setting for TFP's)")
  for ours, op, peer, bound, verdicts in peer_goals(results):
    if peer is None:
      print(f"  {ours + ' ' + op:<40} no peer timed (--no_torch)")
    for xla, (r, met) in verdicts.items():
      print(f"  {ours + xla + ' ' + op:<40} / {peer + ' (fastest)':<28}{r:>6.2f}  "
            f"goal {bound}: {'met' if met else 'NOT met'}")


def peer_goals(results):
  """Per PEER_GOALS entry: (ours, op, the fastest peer timed or None, the goal as text,
  {xla: (ours / peer of the medians, met)})."""
  goals = []
  for ours, op, goal in PEER_GOALS:
    labels = [peer + xla for peer in PEERS[ours] for xla in XLA]
    peer = side_by_side.fastest(results, labels, op)
    verdicts = {}
    for xla in XLA if peer else ():
      r = side_by_side.ratio(results, ours + xla, op, peer, op)
      verdicts[xla] = (r, r < 1.0 if goal == "< 1.0" else r <= goal)
    goals.append((ours, op, peer, "< 1.0" if goal == "< 1.0" else f"<= {goal}", verdicts))
  return goals

FLOOR = "matmul floor"


def matmul_floor(args):
  """The matmuls alone of a MAF at these sizes: per layer relu(relu(h W1 + b1) W2 + b2) W3 +
  b3 with dense weights of a MADE's shapes (D -> H... -> 2D), no masks, no transform, no
  log-det; layer l + 1 reads the first D of layer l's outputs, so the layers run one after
  another, as a flow's do (independent MLPs on the same x would run two at a time on two
  cores and make a floor no flow can reach). "log_prob": that forward pass; "train step":
  its gradient with respect to every weight and a Keras Adam step on them, as a MAF's train
  step does. What any MAF computes at least, so `ours / floor` says how far from the limit
  of this machine it is.
  Returns (`runners(jit)`: {op: runner}, timed with the models; {op: FLOPs a call})."""
  import keras
  import tensorflow as tf
  rng = np.random.default_rng(0)
  sizes = [args.dim] + list(args.hidden) + [2 * args.dim]
  layers = [[(tf.Variable((rng.normal(size=(a, b)) / np.sqrt(a)).astype(np.float32)),
              tf.Variable(np.zeros(b, np.float32))) for a, b in zip(sizes[:-1], sizes[1:])]
            for _ in range(args.layers)]
  variables = [v for weights in layers for pair in weights for v in pair]
  optimizer = keras.optimizers.Adam(1e-4)
  optimizer.build(variables)
  x = tf.constant(data(args.batch, args.dim))

  def matmuls(x):
    total, h = tf.zeros([x.shape[0]]), x
    for weights in layers:
      for i, (w, b) in enumerate(weights):
        h = tf.matmul(h, w) + b
        if i < len(weights) - 1:
          h = tf.nn.relu(h)
      total += tf.reduce_sum(h, -1)
      h = h[:, :args.dim]  # The next layer's input, as a flow's layer output is.
    return total

  def train_step(x):
    with tf.GradientTape() as tape:
      loss = tf.reduce_mean(matmuls(x))
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return loss

  def runners(jit):
    return side_by_side.tf_runners({"log_prob": (tf.function(matmuls, jit_compile=jit), x),
                                    "train step": (tf.function(train_step, jit_compile=jit), x)})

  forward = 2 * args.batch * args.layers * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
  # Backward: each weight's gradient (the forward's FLOPs again) and each matmul's input
  # gradient but the very first's (the data needs none).
  backward = 2 * forward - 2 * args.batch * sizes[0] * sizes[1]
  return runners, {"log_prob": forward, "train step": forward + backward}


def print_floor(results, flops):
  """The matmul floors (timed with the models) and each MAF's `log_prob` and train step over
  the faster one, fastest repeats and medians."""
  for op in ("log_prob", "train step"):
    labels = [FLOOR + xla for xla in XLA if (FLOOR + xla, op) in results]
    print(f"\nmatmul floor of a MAF {op} ({flops[op] / 1e6:.1f} MFLOP a call): "
          + ", ".join(f"{'xla' if 'xla' in label else 'tf.function'} "
                      f"{results[label, op][1]:.2f} ms fastest, {results[label, op][0]:.2f} "
                      f"median ({flops[op] / results[label, op][1] / 1e6:.1f} GFLOP/s)"
                      for label in labels))
    print(f"  {'over the faster floor':<38}   fastest  median")
    for label, fastest, median in over_floor(results, op):
      print(f"  {label + ' ' + op:<38}{fastest:>9.2f}{median:>8.2f}")


def over_floor(results, op):
  """[(label, fastest repeat / the faster floor's, median / the faster floor's)] of each MAF
  timed for `op` ("log_prob" or "train step")."""
  floors = [FLOOR + xla for xla in XLA if (FLOOR + xla, op) in results]
  fastest = min(results[label, op][1] for label in floors)
  median = min(results[label, op][0] for label in floors)
  rows = []
  for name in ("ours affine MAF", "TFP MAF", "zuko MAF", "nflows affine MAF"):
    for xla in (XLA if name in ("ours affine MAF", "TFP MAF") else ("",)):
      if (name + xla, op) in results:
        ms, best = results[name + xla, op][:2]
        rows.append((name + xla, best / fastest, ms / median))
  return rows

def print_ratios(results, peers):
  """Spline/affine and sample/log_prob ratios of ours, and ours / peer of the same kind."""
  ratio = lambda *a: side_by_side.ratio(results, *a)
  print("\nspline / affine, ours (same XLA setting)")
  for xla in XLA:
    print(f"  {'xla' if xla else 'tf.function':<13}" + "".join(
        f"{op}: {ratio('ours spline MAF' + xla, op, 'ours affine MAF' + xla, op):.2f}   "
        for op in OPS))
  print("\nsample / log_prob")
  names = list(PEERS) + ["TFP MAF"]
  for name in names:
    for xla in XLA:
      print(f"  {name + xla:<28}{ratio(name + xla, 'sample', name + xla, 'log_prob'):>7.2f}")
  for peer in peers:
    print(f"  {peer:<28}{ratio(peer, 'sample', peer, 'log_prob'):>7.2f}")
  peers_of = {ours: [p for p in theirs if p in peers or p == "TFP MAF"]
              for ours, theirs in PEERS.items()}
  side_by_side.print_ours_over_peers(results, OPS, peers_of)


def goal_rows(results):
  """README's goal rows: (goal, ratio with tf.function, ratio with XLA) of ours' medians."""
  ratio = lambda *a: side_by_side.ratio(results, *a)
  verdict = lambda r, met: f"{readme.number(r)} ({'met' if met else 'not met'})"
  rows = [[f"{ours} {op} / {peer} (the fastest peer) {bound}",
           *(verdict(*verdicts[xla]) for xla in XLA)]
          for ours, op, peer, bound, verdicts in peer_goals(results) if peer]
  for text, a, op_a, b, op_b, goal in GOALS:
    cells = [verdict(r, r <= goal) for r in
             (ratio(a + xla, op_a, b + xla, op_b) for xla in XLA)]
    rows.append([f"ours {text} <= {goal}", *cells])
  return rows


def emit_tables(args, results, params, flops, load_start, repeats):
  """README's tables (`benchmarks/readme.py`): the affine MAFs' times, the goals, the spline
  flows against their peers, and the MAFs over the matmul floor."""
  ratio = lambda *a: side_by_side.ratio(results, *a)
  sizes = (f"D={args.dim}, {args.layers} layers, MADE {args.hidden}, batch {args.batch}, "
           f"float32; medians of {repeats} interleaved repeats; load average "
           f"{load_start.split()[0]} at start, {side_by_side.loadavg().split()[0]} at end")
  names = [("ours, tf.function / XLA", "ours affine MAF"), ("TFP, tf.function / XLA", "TFP MAF"),
           ("zuko", "zuko MAF"), ("nflows", "nflows affine MAF"),
           ("matmul floor, tf.function / XLA", FLOOR)]
  rows = [[text, *(side_by_side.times_cell(results, name, op) for op in OPS)]
          for text, name in names
          if any((name + xla, OPS[1]) in results for xla in XLA)]
  counts = ", ".join(f"{name} {params[name]:,}" for _, name in names[:-1] if name in params)
  readme.emit("vector_flows_speed/affine_maf",
              readme.markdown(["affine MAF, ms per call", *OPS], rows)
              + f"\n\nParameters: {counts}. {sizes}.")
  readme.emit("vector_flows_speed/goals",
              readme.markdown(["goal (ours' median / the other's)", "ours, tf.function",
                               "ours, XLA"],
                              goal_rows(results)))
  spline = [("spline MAF", "ours spline MAF", "zuko NSF"),
            ("spline MAF", "ours spline MAF", "nflows MAF"),
            ("spline coupling", "ours spline coupling", "zuko NSF coupling"),
            ("spline coupling", "ours spline coupling", "nflows coupling")]
  rows = [[f"{text} / {peer}", *(" / ".join(readme.number(ratio(ours + xla, op, peer, op))
                                            for xla in XLA) for op in OPS)]
          for text, ours, peer in spline if (peer, OPS[1]) in results]
  counts = ", ".join(f"{name} {params[name]:,}" for name in dict.fromkeys(
      name for _, *pair in spline for name in pair) if name in params)
  if rows:  # No PyTorch peers (--no_torch): no table.
    readme.emit("vector_flows_speed/spline",
                readme.markdown(["ours / peer, tf.function / XLA", *OPS], rows)
                + f"\n\nParameters: {counts}. {sizes}.")
  ops = ("log_prob", "train step")
  labels = {op: [FLOOR + xla for xla in XLA if (FLOOR + xla, op) in results] for op in ops}
  fastest = {op: {label: best for label, best, _ in over_floor(results, op)} for op in ops}
  rows = [[label, *(readme.number(fastest[op].get(label, float("nan"))) for op in ops)]
          for label, *_ in over_floor(results, "log_prob")]
  speeds = "; ".join(f"{op} {flops[op] / 1e6:.0f} MFLOP, "
                     + ", ".join(f"{'XLA' if 'xla' in label else 'tf.function'} "
                                 f"{flops[op] / results[label, op][1] / 1e6:.0f} GFLOP/s"
                                 for label in labels[op]) for op in ops)
  readme.emit("vector_flows_speed/floor",
              readme.markdown(["over the faster matmul floor (fastest repeats)",
                               *(f"{op} / floor" for op in ops)], rows)
              + f"\n\nThe floor's matmuls: {speeds}.")


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  side_by_side.add_arguments(parser, repeats=7, quick_repeats=2)
  parser.add_argument("--dim", type=int, default=16)
  parser.add_argument("--layers", type=int, default=5)
  parser.add_argument("--hidden", default="256,256", help="hidden widths, e.g. 256,256")
  parser.add_argument("--batch", type=int, default=512)
  args = parser.parse_args()
  if args.torch_worker:
    return torch_worker(side_by_side.worker_arguments(args.torch_worker))
  args.hidden = [int(h) for h in args.hidden.split(",")]

  command = side_by_side.command_line()
  repeats = args.repeats or (2 if args.quick else 7)
  target_s = 0.05 if args.quick else 0.3
  started = datetime.datetime.now().astimezone()
  load_start = side_by_side.loadavg()

  # Before TF starts its thread pools.
  peers = None if args.no_torch else side_by_side.TorchPeers(__file__, args)
  import tensorflow as tf
  tf.get_logger().setLevel("ERROR")  # Its retracing warnings count separate functions too.
  tf.random.set_seed(0)
  models = tf_models(args)
  check_tf_models(models, args.batch, args.dim)
  params = side_by_side.parameter_counts(models, peers)
  peer_names = list(peers.info["params"]) if peers else []

  side_by_side.print_header(command, started, load_start, peers)
  print(f"D={args.dim}, layers={args.layers}, hidden={args.hidden}, batch={args.batch}, "
        f"float32, bins 8, bound 5, {repeats} repeats of ~{target_s} s per model")
  side_by_side.print_parameters(params, PEERS)

  floor_runners, flops = matmul_floor(args)
  runners_of = lambda d, jit: (floor_runners(jit) if d is FLOOR
                               else tf_operations(d, args.batch, jit))
  results, fairness = side_by_side.time_models(
      {**models, FLOOR: FLOOR}, runners_of, peers, OPS, repeats, target_s)

  side_by_side.print_times(results, OPS, 1, "ms per call")
  print_goals(results)
  print_ratios(results, peer_names)
  print_floor(results, flops)
  emit_tables(args, results, params, flops, load_start, repeats)
  side_by_side.print_footer(fairness, started)


if __name__ == "__main__":
  main()
