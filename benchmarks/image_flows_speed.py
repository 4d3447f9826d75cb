"""Speed of tfp_flows' image flows (Glow, RealNVP) against TFP's `tfb.Glow` and normflows'
PyTorch Glow and RealNVP, side by side in one run.

Ours (TF, this process), default 32x32x3 8-bit images, batch 32, float32:
  ours Glow      `tff.models.glow([S, S, 3], levels=3, depth=8, hidden_channels=128,
                 num_bins=256, seed=0)`: per level squeeze, 8 steps of ActNorm -> LU 1x1
                 conv -> affine coupling (channel halves, `GlowNetwork`: 3x3 conv, ReLU, 1x1
                 conv, ReLU, zero-initialised 3x3 conv), factor out half; standard normal
                 priors; `UniformDequantization(256)` -> `LogitPreprocessing(0.05)` in front
  ours RealNVP   `tff.models.realnvp([S, S, 3], num_scales=2, hidden_channels=64,
                 num_blocks=2, num_bins=256)`: per scale 3 checkerboard couplings, squeeze,
                 3 channel couplings, factor out half; the last scale 4 checkerboard
                 couplings; `CouplingResNet` networks (3x3 conv in, 2 residual blocks of two
                 3x3 convs, 3x3 conv out), Glow's bounded scale; the same preprocessing
  ours RealNVP packed  the same with `checkerboard="packed"`: each checkerboard coupling's
                 network sees the copied pixels of every row packed into an S x S/2 image
                 (mask "packed_checkerboard"), as normflows' checkerboard split does; the
                 same parameters, half the checkerboard networks' work
TFP (TF, this process):
  TFP Glow       `tfb.Glow(output_shape=[S, S, 3], num_glow_blocks=3, num_steps_per_block=8)`
                 with `GlowDefaultNetwork(num_hidden=128)` couplings and its default exit
                 couplings (a learned prior for the factored-out channels, which ours does not
                 have), behind the same dequantization and logit (`digits_bits_per_dim.tfp_glow`)
Peers (normflows, PyTorch eager, in a subprocess under /work/venvs/torch/bin/python; this
process never imports torch), NCHW, as normflows' Glow example builds them:
  normflows Glow     `nf.MultiscaleFlow` of 3 levels, each 8 `nf.flows.GlowBlock(channels,
                 128, split_mode="channel", scale=True)` (affine coupling with
                 sigmoid(s + 2) scale and a `ConvNet2d` 3x3 -> 1x1 -> 3x3, ReLU, zero-
                 initialised output, no ActNorm inside; LU 1x1 conv; ActNorm) and an
                 `nf.flows.Squeeze`, `nf.flows.Merge` between levels; fixed standard normal
                 priors (`DiagGaussian(trainable=False)`, where the example has the learned
                 per-channel `GlowBase`)
  normflows RealNVP  the same `MultiscaleFlow` frame in our RealNVP's layout: per scale 3
                 `AffineCouplingBlock(split_mode="checkerboard"/"checkerboard_inv")`, Squeeze,
                 3 with "channel"/"channel_inv", Merge; the last scale 4 checkerboard ones;
                 each a `nf.nets.ConvResidualNet(hidden_channels=64, num_blocks=2)`
                 network and sigmoid(s + 2) scale (normflows ships no image RealNVP)
  Both take the images through uniform dequantization ((x + u) / 256, u ~ U[0, 1) drawn
  each call) and normflows' `nf.transforms.Logit(alpha=0.05)` (the flow's `transform`), and
  subtract D log 256, so their log_prob is the same dequantized bound as ours.
What differs in the layouts is printed by the run (DIFFERENCES). Parameter counts are
printed, each peer's with its ratio to ours of the same kind.

Operations on a fixed batch of random 8-bit images: an Adam (lr 1e-4) step on mean
bits/dim, `log_prob`, `sample(batch)` (integer images). Ours and TFP's each a
`tf.function`, with and without `jit_compile=True`; normflows' eagerly (`torch.optim.Adam`;
log_prob and sample under `torch.no_grad()`). Timing as in `vector_flows_speed.py`
(`benchmarks/side_by_side.py`): warm-up, N calls per repeat calibrated to ~1 s, every
repeat times every model of the op in turn, order rotating and alternating; a model whose
warm-up fails (e.g. XLA) is left out with a note. Reported as ms per image (median over
repeats) and ours/peer (< 1: ours is faster).

Run from the repository root (CPU, an estimated 15 minutes; --quick: a smoke run at 16x16,
2 steps per level, batch 8, ~4 minutes):
  PYTHONPATH=. .venv/bin/python benchmarks/image_flows_speed.py
  PYTHONPATH=. .venv/bin/python benchmarks/image_flows_speed.py --quick --no_torch
Options: --size, --levels, --depth, --hidden, --realnvp_scales, --realnvp_hidden,
--realnvp_blocks, --batch, --repeats, --no_torch, --torch_python=PATH, --torch_threads=N.
"""

import argparse
import datetime
import math
import sys

import numpy as np

from benchmarks import readme
from benchmarks import side_by_side

OPS = ("train step", "log_prob", "sample")
XLA = ("", " [xla]")
PEERS = {"ours Glow": ("TFP Glow", "normflows Glow"),
         "ours RealNVP": ("normflows RealNVP",),
         "ours RealNVP packed": ("normflows RealNVP",)}
DIFFERENCES = [
    "TFP Glow: a learned prior (exit couplings) for the factored-out channels; ours and "
    "normflows' have standard normal ones.",
    "normflows Glow: ours' layout (ActNorm -> LU 1x1 conv -> channel coupling, sigmoid(s + 2) "
    "scale, 3x3-1x1-3x3 ReLU network); its LU 1x1 conv keeps full C x C lower and upper "
    "factors (masked), C^2 + C more parameters a step than ours, the same function class.",
    "normflows RealNVP: its 'checkerboard' split gathers alternate columns into an H x W/2 "
    "image, so each checkerboard network sees half the pixels (ours RealNVP: a masked H x W "
    "input; ours RealNVP packed: packed the same way). Its board alternates over channels "
    "too, (c + i + j) % 2; ours is (i + j) % 2 in every channel.",
    "normflows RealNVP: ConvResidualNet has 1x1 convs in and out (ours 3x3) and no "
    "zero-initialised output layer.",
    "normflows: dequantization noise and D log 256 are applied outside the flow, in the "
    "loss; NCHW tensors.",
]


def images(batch, size):
  """The fixed batch of random 8-bit images, NHWC float32, the same in both processes."""
  return np.random.default_rng(0).integers(0, 256, [batch, size, size, 3]).astype(np.float32)


# ------------------------------------------------------------------ PyTorch worker side.

def dequantized_log_prob(model, x):
  """The dequantized bound on log P(x) of a normflows model on integer images `x` (NCHW),
  in nats: uniform noise, [0, 1) scaling and the D log 256 term outside the flow."""
  import torch
  return model.log_prob((x + torch.rand_like(x)) / 256, None) - x[0].numel() * math.log(256)


def normflows_glow(args):
  """normflows' Glow at our sizes (its example's layout; level 0 is the deepest)."""
  import normflows as nf
  levels, size = args.levels, args.size
  q0, merges, flows = [], [], []
  for i in range(levels):
    channels = 3 * 2 ** (levels + 1 - i)
    flows.append([nf.flows.GlowBlock(channels, args.hidden, split_mode="channel", scale=True)
                  for _ in range(args.depth)] + [nf.flows.Squeeze()])
    if i:
      merges.append(nf.flows.Merge())
    side = size // 2 ** (levels - i)
    latent = (channels if i == 0 else channels // 2, side, side)
    q0.append(nf.distributions.DiagGaussian(latent, trainable=False))
  return nf.MultiscaleFlow(q0, flows, merges, transform=nf.transforms.Logit(alpha=0.05),
                           class_cond=False)


def normflows_realnvp(args):
  """normflows' parts in `tff.models.realnvp`'s layout (level 0 is the deepest scale)."""
  import normflows as nf
  scales, size = args.realnvp_scales, args.size

  def coupling(channels, mode, i):
    mode = mode + ("_inv" if i % 2 else "")
    n_in = channels if "checkerboard" in mode else channels // 2
    n_out = 2 * (channels if "checkerboard" in mode else channels // 2)
    net = nf.nets.ConvResidualNet(n_in, n_out, args.realnvp_hidden,
                                  num_blocks=args.realnvp_blocks)
    return nf.flows.AffineCouplingBlock(net, scale=True, scale_map="sigmoid", split_mode=mode)

  q0, merges, flows = [], [], []
  for i in range(scales):
    k = scales - 1 - i  # Our scale index: 0 at the data.
    channels, side = 3 * 2 ** k, size // 2 ** k
    if i == 0:
      flows.append([coupling(channels, "checkerboard", j) for j in range(4)][::-1])
      q0.append(nf.distributions.DiagGaussian((channels, side, side), trainable=False))
      continue
    data_to_latent = [coupling(channels, "checkerboard", j) for j in range(3)]
    data_to_latent.append(nf.flows.Squeeze())  # Its forward unsqueezes: latent -> data.
    data_to_latent += [coupling(4 * channels, "channel", j) for j in range(3)]
    flows.append(data_to_latent[::-1])
    merges.append(nf.flows.Merge())
    q0.append(nf.distributions.DiagGaussian((2 * channels, side // 2, side // 2),
                                            trainable=False))
  return nf.MultiscaleFlow(q0, flows, merges, transform=nf.transforms.Logit(alpha=0.05),
                           class_cond=False)


def torch_worker(args):
  """Builds normflows' peers, checks them, and serves timing requests."""
  protocol = side_by_side.worker_protocol()
  import torch
  import torch.utils.flop_counter
  torch.set_num_threads(args.torch_threads)
  torch.manual_seed(0)
  x = torch.from_numpy(images(args.batch, args.size)).permute(0, 3, 1, 2).contiguous()
  dims = x[0].numel()
  ops, params, flops = {}, {}, {}
  for name, build in (("normflows Glow", normflows_glow),
                      ("normflows RealNVP", normflows_realnvp)):
    model = build(args)

    def log_prob(model=model):
      return dequantized_log_prob(model, x)

    def sample(model=model):
      return torch.clamp(torch.floor(model.sample(args.batch)[0] * 256), 0, 255)

    with torch.no_grad():
      log_prob()  # ActNorms initialise themselves on their first batch.
    ops[name], params[name] = side_by_side.torch_operations(
        model, lambda log_prob=log_prob: -log_prob().mean() / (dims * math.log(2)),
        log_prob, sample)
    assert torch.isfinite(ops[name]["log_prob"]()).all(), name
    assert tuple(ops[name]["sample"]().shape) == tuple(x.shape), name
    with torch.utils.flop_counter.FlopCounterMode(display=False) as counter:
      ops[name]["log_prob"]()
    flops[name] = counter.get_total_flops() / args.batch
  side_by_side.serve(protocol, ops, {
      "params": params, "flops": flops, "versions": side_by_side.versions(("torch", "normflows", "numpy")),
      "threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads(),
      "python": sys.executable})


# ------------------------------------------------------------------------- TF side.

def image_operations(dist, x, jit):
  """{name: (tf.function, argument)}: an Adam step on mean bits/dim of the batch `x`,
  `log_prob(x)` and `sample(len(x))`."""
  import keras
  import tensorflow as tf
  import tfp_flows as tff
  variables = dist.trainable_variables
  optimizer = keras.optimizers.Adam(1e-4)
  optimizer.build(variables)
  shape = x.shape[1:]

  def train_step(x):
    with tf.GradientTape() as tape:
      loss = tf.reduce_mean(tff.metrics.bits_per_dim(dist.log_prob(x), shape))
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return loss

  fn = lambda f: tf.function(f, jit_compile=jit)
  return {"train step": (fn(train_step), x),
          "log_prob": (fn(dist.log_prob), x),
          "sample": (fn(lambda s: dist.sample(x.shape[0], seed=s)), tf.constant([1, 2]))}


def tf_models(args, x):
  """{name: distribution} of the TF process, initialised on `x` and checked: finite
  log_prob, samples of integer levels in [0, 255] of the images' shape."""
  import tfp_flows as tff
  from benchmarks.digits_bits_per_dim import tfp_glow
  shape = [args.size, args.size, 3]
  models = {
      "ours Glow": tff.models.glow(shape, levels=args.levels, depth=args.depth,
                                   hidden_channels=args.hidden, num_bins=256, seed=0),
      "ours RealNVP": tff.models.realnvp(shape, num_scales=args.realnvp_scales,
                                         hidden_channels=args.realnvp_hidden,
                                         num_blocks=args.realnvp_blocks, num_bins=256),
      "ours RealNVP packed": tff.models.realnvp(
          shape, num_scales=args.realnvp_scales, hidden_channels=args.realnvp_hidden,
          num_blocks=args.realnvp_blocks, num_bins=256, checkerboard="packed"),
      "TFP Glow": tfp_glow(args.hidden, args.depth, args.levels, shape=shape, num_bins=256)}
  tff.bijectors.initialize_act_norms(models["ours Glow"], x)
  models["TFP Glow"].log_prob(x)  # TFP's ActNorms initialise themselves on their first call.
  for name, dist in models.items():
    assert np.all(np.isfinite(dist.log_prob(x).numpy())), name
    sample = dist.sample(4, seed=[0, 1]).numpy()
    assert sample.shape == (4, *shape), name
    assert sample.min() >= 0 and sample.max() <= 255, name
    assert np.all(sample == np.round(sample)), name
  return models


def log_prob_flops(dist, x):
  """FLOPs per image of `dist.log_prob(x)`'s matmuls and convolutions (TF's graph
  profiler; torch's FlopCounterMode counts the same ops on the peers' side)."""
  import tensorflow as tf
  graph = tf.function(dist.log_prob).get_concrete_function(x).graph
  options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
  options["output"] = "none"
  profile = tf.compat.v1.profiler.profile(graph, options=options)
  return profile.total_float_ops / x.shape[0]


def print_flops(models, x, peers, results):
  """GFLOP per image of each model's log_prob, and log_prob ms per GFLOP (the median)."""
  flops = {name: log_prob_flops(dist, x) for name, dist in models.items()}
  if peers:
    flops.update(peers.info["flops"])
  print("\nlog_prob GFLOP per image (matmuls and convolutions) and ms per GFLOP:")
  for name, count in flops.items():
    labels = [name + xla for xla in ("", " [xla]") if (name + xla, "log_prob") in results]
    speeds = ", ".join(f"{label} {results[label, 'log_prob'][0] / x.shape[0] / (count / 1e9):.2f}"
                       for label in labels)
    print(f"  {name:<22}{count / 1e9:>8.3f}   {speeds}")
  return flops


def emit_tables(args, results, params, flops, load_start, repeats):
  """README's tables (`benchmarks/readme.py`): ms per image, and ours / peer."""
  names = [("ours Glow", "tf.function / XLA"), ("TFP Glow", "tf.function / XLA"),
           ("normflows Glow", ""), ("ours RealNVP", "masked, tf.function / XLA"),
           ("ours RealNVP packed", "tf.function / XLA"), ("normflows RealNVP", "")]
  rows = [[f"{name}{', ' + how if how else ''}",
           *(side_by_side.times_cell(results, name, op, args.batch) for op in OPS),
           f"{flops[name] / 1e9:.3f}" if name in flops else "-", f"{params[name]:,}"]
          for name, how in names if (name, OPS[1]) in results]
  readme.emit("image_flows_speed/times", readme.markdown(
      ["ms per image", *OPS, "log_prob GFLOP per image", "parameters"], rows)
      + f"\n\n{args.size}x{args.size}x3, batch {args.batch}, float32; Glow {args.levels} "
      f"levels x {args.depth} steps, {args.hidden} hidden channels; RealNVP "
      f"{args.realnvp_scales} scales, {args.realnvp_hidden} hidden channels, "
      f"{args.realnvp_blocks} residual blocks; medians of {repeats} interleaved repeats; load "
      f"average {load_start.split()[0]} at start, {side_by_side.loadavg().split()[0]} at end.")
  rows = []
  for ours, theirs in PEERS.items():
    for peer in theirs:
      if (peer, OPS[1]) not in results:
        continue
      # A peer in this process is compared at ours' XLA setting, a PyTorch one eager.
      other = lambda xla: peer + xla if (peer + xla, OPS[1]) in results else peer
      rows.append([f"{ours} / {peer}", *(" / ".join(
          readme.number(side_by_side.ratio(results, ours + xla, op, other(xla), op))
          for xla in XLA) for op in OPS)])
  readme.emit("image_flows_speed/ratios",
              readme.markdown(["ours / peer, tf.function / XLA (< 1: ours is faster)", *OPS],
                              rows))


def print_layout(args, repeats, target_s):
  """Sizes of this run and what differs between the layouts."""
  print(f"image {args.size}x{args.size}x3, batch {args.batch}, float32, {repeats} repeats of "
        f"~{target_s} s per model")
  print(f"Glow: {args.levels} levels x {args.depth} steps, {args.hidden} hidden channels; "
        f"RealNVP: {args.realnvp_scales} scales, {args.realnvp_hidden} hidden channels, "
        f"{args.realnvp_blocks} residual blocks")
  print("layout differences:")
  for line in DIFFERENCES:
    print(f"  - {line}")


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  side_by_side.add_arguments(parser, repeats=5, quick_repeats=2)
  parser.add_argument("--batch", type=int, default=32)
  parser.add_argument("--size", type=int, default=32)
  parser.add_argument("--levels", type=int, default=3)
  parser.add_argument("--depth", type=int, default=8)
  parser.add_argument("--hidden", type=int, default=128)
  parser.add_argument("--realnvp_scales", type=int, default=2)
  parser.add_argument("--realnvp_hidden", type=int, default=64)
  parser.add_argument("--realnvp_blocks", type=int, default=2)
  args = parser.parse_args()
  if args.torch_worker:
    return torch_worker(side_by_side.worker_arguments(args.torch_worker))
  if args.quick:
    args.size, args.depth, args.batch = 16, 2, 8
  repeats = args.repeats or (2 if args.quick else 5)
  target_s = 0.2 if args.quick else 1.0

  command = side_by_side.command_line()
  started = datetime.datetime.now().astimezone()
  load_start = side_by_side.loadavg()
  # Before TF starts its thread pools.
  peers = None if args.no_torch else side_by_side.TorchPeers(__file__, args)
  import tensorflow as tf
  tf.get_logger().setLevel("ERROR")
  tf.random.set_seed(0)
  x = tf.constant(images(args.batch, args.size))
  models = tf_models(args, x)
  params = side_by_side.parameter_counts(models, peers)
  peer_names = list(peers.info["params"]) if peers else []

  side_by_side.print_header(command, started, load_start, peers)
  print_layout(args, repeats, target_s)
  side_by_side.print_parameters(params, PEERS)

  results, fairness = side_by_side.time_models(
      models, lambda d, jit: side_by_side.tf_runners(image_operations(d, x, jit)), peers,
      OPS, repeats, target_s)

  side_by_side.print_times(results, OPS, args.batch, "ms per image")
  peers_of = {ours: [p for p in theirs if p in peer_names or p.startswith("TFP")]
              for ours, theirs in PEERS.items()}
  side_by_side.print_ours_over_peers(results, OPS, peers_of)
  flops = print_flops(models, x, peers, results)
  emit_tables(args, results, params, flops, load_start, repeats)
  side_by_side.print_footer(fairness, started)


if __name__ == "__main__":
  main()
