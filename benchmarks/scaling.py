"""How time grows with batch, dimension and image size: ours against TFP's, tables and a plot.

Three sweeps, each cell timing ours and TFP's model interleaved (`time_pair` from
`benchmarks/maf_vs_tfp.py`, which explains the timing: medians over repeats of N calls):

- MAF over batch B in {64, 256, 1024, 4096} at D=16, and over D in {2, 8, 32, 128, 256} at
  B=512: `tff.models.maf(D, 5, [256, 256])` against TFP's MAF built the same way
  (`tfp_flow`); an Adam train step on -mean log_prob, `log_prob` and `sample(B)`, as ms per
  call. Sampling inverts D autoregressive positions per layer (TFP: D MADE passes), so
  its cost grows ~D^2 (each pass's input and output layers grow with D too); it still
  fits (at D=256, ~1.3 s per call for ours, ~6 s for TFP's): `--sample_batch=64` draws
  fewer points per sample call in the D sweep when time is short (the tables say so).
- Glow over image size S in {8, 16, 32, 64} (S x S x 3, batch 16): `tff.models.glow(levels=3,
  depth=4, hidden_channels=64)` against TFP's `tfb.Glow` behind the same dequantization and
  logit (`tfp_glow`); train step on mean bits/dim and `log_prob`, as ms per image (3 levels,
  fewer where the last level would be under 2x2: 2 at 8x8).

Every op is a `tf.function` (`--xla`: with `jit_compile=True`). Ratios are ours/TFP (< 1:
ours is faster), of the medians, with the ratio of the fastest repeats in parentheses
(steadier on a busy machine). Writes `benchmarks/results/scaling.md` (the tables) and
`scaling.png` (log-log, one panel per sweep, ours solid, TFP dashed), each through a
temporary file renamed (`tff.files.atomic_path`); `--quick` writes `scaling_quick.*`,
`--xla` `scaling_xla.*`.

Run from the repository root (2 busy CPU cores: ~8 minutes; --quick: ~1 minute):
  PYTHONPATH=. python benchmarks/scaling.py [--xla] [--quick] [--out_dir=DIR]
"""

import argparse
import datetime
import os
import time

import keras
import matplotlib.ticker
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
from matplotlib import pyplot

import tfp_flows as tff
from benchmarks import readme
from benchmarks.digits_bits_per_dim import tfp_glow
from benchmarks.image_flows_speed import image_operations as glow_operations
from benchmarks.maf_vs_tfp import num_params, tfp_flow, time_pair
from benchmarks.maf_vs_tfp import operations as maf_operations
from benchmarks.run import machine

FULL = dict(batches=(64, 256, 1024, 4096), dim=16, dims=(2, 8, 32, 128, 256), batch=512,
            layers=5, hidden=(256, 256), sizes=(8, 16, 32, 64), image_batch=16, levels=3,
            depth=4, image_hidden=64, repeats=5, target_s=0.3, image_target_s=0.5,
            sample_batch=None)
QUICK = dict(batches=(64, 256), dim=4, dims=(2, 8), batch=64, layers=2, hidden=(32, 32),
             sizes=(8, 16), image_batch=4, levels=2, depth=1, image_hidden=16, repeats=2,
             target_s=0.05, image_target_s=0.05, sample_batch=16)
MAF_OPS = ("train step", "log_prob", "sample")
GLOW_OPS = ("train step", "log_prob")


def timed(ops_pair, names, repeats, target_s):
  """{name: (ours ms, TFP ms, ours/TFP of the fastest repeats)}, ours and TFP interleaved."""
  cells = {}
  for name in names:
    (ours_ms, tfp_ms), min_ratio, _ = time_pair([ops[name] for ops in ops_pair], repeats,
                                                target_s)
    cells[name] = (ours_ms, tfp_ms, min_ratio)
  return cells


def maf_point(dim, batch, sample_batch, c, jit):
  """One cell of a MAF sweep: parameter counts and the three ops' times (ms per call)."""
  tf.random.set_seed(0)
  models = (tff.models.maf(dim, num_layers=c["layers"], hidden_units=c["hidden"]),
            tfp_flow(dim, c["layers"], c["hidden"]))
  ops = [maf_operations(d, batch, jit) for d in models]
  if sample_batch != batch:
    for op, d in zip(ops, models):
      op["sample"] = maf_operations(d, sample_batch, jit)["sample"]
  cells = timed(ops, MAF_OPS, c["repeats"], c["target_s"])
  return tuple(num_params(d) for d in models), cells


def glow_point(size, c, jit):
  """One cell of the Glow sweep: parameter counts and train/log_prob times (ms per image)."""
  shape = [size, size, 3]
  levels = min(c["levels"], int(np.log2(size)) - 1)  # The last level at least 2x2.
  tf.random.set_seed(0)
  x = tf.constant(np.random.default_rng(0).integers(0, 256, [c["image_batch"]] + shape),
                  tf.float32)
  ours = tff.models.glow(shape, levels=levels, depth=c["depth"],
                         hidden_channels=c["image_hidden"], num_bins=256, seed=0)
  tff.bijectors.initialize_act_norms(ours, x)
  theirs = tfp_glow(c["image_hidden"], c["depth"], levels, shape=shape, num_bins=256)
  theirs.log_prob(x)  # TFP's ActNorms initialise themselves on their first call.
  for name, dist in (("ours", ours), ("TFP", theirs)):
    if not np.all(np.isfinite(dist.log_prob(x))):
      raise RuntimeError(f"Expected a finite log_prob. Received: model={name}, size={size}")
  cells = timed([glow_operations(d, x, jit) for d in (ours, theirs)], GLOW_OPS,
                c["repeats"], c["image_target_s"])
  per_image = {k: (o / x.shape[0], t / x.shape[0], r) for k, (o, t, r) in cells.items()}
  return (num_params(ours), num_params(theirs)), per_image, levels


def table(title, x_name, rows, ops, unit):
  """Markdown lines: one row per swept value, ours/TFP ms and their ratio for each op."""
  head = [x_name, "params ours / TFP"]
  for op in ops:
    head += [f"{op} ours {unit}", f"{op} TFP {unit}", f"{op} ours/TFP"]
  lines = [f"### {title.replace(chr(10), ' ')}", "", "| " + " | ".join(head) + " |",
           "|" + "---|" * len(head)]
  for x, (ours_n, tfp_n), cells, *_ in rows:
    line = [str(x), f"{ours_n:,} / {tfp_n:,}"]
    for op in ops:
      ours_ms, tfp_ms, min_ratio = cells[op]
      line += [readme.significant(ours_ms), readme.significant(tfp_ms),
               f"{ours_ms / tfp_ms:.2f} ({min_ratio:.2f})"]
    lines.append("| " + " | ".join(line) + " |")
  return lines + [""]


def emit_ratios(panels, settings, stem):
  """README's table (`benchmarks/readme.py`): ours/TFP of every cell of every sweep."""
  rows = []
  for title, x_name, _, points, ops in panels:
    kind = title.split()[0]
    for x, _, cells, *_ in points:
      where = f"{x}x{x}x3" if kind == "Glow" else f"{x_name} {x}"
      rows.append([f"{kind}, {where}", *(readme.number(cells[op][0] / cells[op][1])
                                         if op in cells else "-" for op in MAF_OPS)])
  readme.emit("scaling/ratios", readme.markdown(["ours / TFP (medians)", *MAF_OPS], rows)
              + f"\n\n{settings}; sizes, times, parameter counts and the plot in "
              f"`benchmarks/results/{stem}.md` and `{stem}.png`.")


def plot(path, panels):
  """Log-log, one panel per sweep: each op a colour, ours solid, TFP dashed."""
  pyplot.switch_backend("Agg")  # Files only: no display needed.
  figure, axes = pyplot.subplots(1, len(panels), figsize=(5 * len(panels), 4.6))
  for axis, (title, x_name, unit, rows, ops) in zip(np.atleast_1d(axes), panels):
    for k, op in enumerate(ops):
      xs = [x for x, *_ in rows]
      for j, (who, style) in enumerate((("ours", "-o"), ("TFP", "--s"))):
        axis.plot(xs, [cells[op][j] for _, _, cells, *_ in rows], style, color=f"C{k}",
                  label=f"{op}, {who}")
    axis.set_xscale("log", base=2)
    axis.set_yscale("log")
    axis.set_xticks(xs, [str(x) for x in xs])
    axis.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    low, high = axis.get_ylim()  # Label 2..9 x 10^k too only when under a decade shows.
    axis.yaxis.set_minor_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}")
                                   if high / low < 10 else matplotlib.ticker.NullFormatter())
    axis.set_xlabel(x_name)
    axis.set_ylabel(unit[0])
    axis.set_title(title, fontsize=10)
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=7)
  figure.tight_layout()
  with tff.files.atomic_path(path) as partial:
    figure.savefig(partial, dpi=120)
  pyplot.close(figure)


def parse_args(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="smoke run: 2 points per sweep")
  parser.add_argument("--xla", action="store_true", help="jit_compile=True for every op")
  parser.add_argument("--sample_batch", type=int, default=None,
                      help="points per sample call in the D sweep (sampling costs ~D^2); "
                      "default the sweep's batch (--quick: 16)")
  parser.add_argument("--sweeps", default="batch,dim,image",
                      help="comma-separated, among batch, dim, image")
  parser.add_argument("--out_dir", default=os.path.join(
      os.path.dirname(os.path.abspath(__file__)), "results"))
  args = parser.parse_args(argv)
  unknown = sorted(set(args.sweeps.split(",")) - {"batch", "dim", "image"})
  if unknown:
    parser.error(f"Expected --sweeps among batch, dim, image. Received: {unknown[0]}")
  return args


def main(argv=None):
  args = parse_args(argv)
  c = QUICK if args.quick else FULL
  sweeps = args.sweeps.split(",")
  sample_batch = min(args.sample_batch or c["sample_batch"] or c["batch"], c["batch"])
  mlp = f"{c['layers']} layers, MADE {list(c['hidden'])}"
  glow = f"depth {c['depth']}, {c['image_hidden']} hidden, batch {c['image_batch']}"
  settings = (f"float32, XLA {'on' if args.xla else 'off'}, {c['repeats']} repeats of "
              f"~{c['target_s']} s per model and cell")
  print(f"TF {tf.__version__}, TFP {tfp.__version__}, Keras {keras.__version__}; {settings}")
  start = time.perf_counter()
  elapsed = lambda: f"{(time.perf_counter() - start) / 60:.1f} min"
  panels = []  # (title, x label, (plot unit, table unit), rows, ops)
  if "batch" in sweeps:
    rows = []
    for batch in c["batches"]:
      rows.append((batch, *maf_point(c["dim"], batch, batch, c, args.xla)))
      print(f"  done: MAF batch {batch}, {elapsed()}", flush=True)
    panels.append((f"MAF over batch\n(D={c['dim']}, {mlp})", "batch", ("ms per call", "ms"),
                   rows, MAF_OPS))
  if "dim" in sweeps:
    rows = []
    for dim in c["dims"]:
      rows.append((dim, *maf_point(dim, c["batch"], sample_batch, c, args.xla)))
      print(f"  done: MAF D {dim}, {elapsed()}", flush=True)
    fewer = f"; sample: batch {sample_batch}" * (sample_batch != c["batch"])
    panels.append((f"MAF over D\n(batch {c['batch']}{fewer}; {mlp})",
                   "D", ("ms per call", "ms"), rows, MAF_OPS))
  if "image" in sweeps:
    rows = []
    for size in c["sizes"]:
      rows.append((size, *glow_point(size, c, args.xla)))
      print(f"  done: Glow {size}x{size}x3 ({rows[-1][3]} levels), {elapsed()}", flush=True)
    levels = "/".join(str(n) for *_, n in rows)
    panels.append((f"Glow over image size\n(SxSx3, {glow}; levels {levels})", "image size S",
                   ("ms per image", "ms/img"), rows, GLOW_OPS))

  stem = "scaling" + "_quick" * args.quick + "_xla" * args.xla
  lines = [f"# Scaling: ours against TFP{' (--quick: smoke run, not results)' * args.quick}",
           "", f"- date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
           f"- machine: {machine()}",
           f"- TF {tf.__version__}, TFP {tfp.__version__}, Keras {keras.__version__}",
           f"- {settings}; wall time {elapsed()}",
           "- ours/TFP < 1: ours is faster; of the medians, in parentheses of the fastest "
           "repeats", f"- plot: `{stem}.png`", ""]
  for title, x_name, unit, rows, ops in panels:
    lines += table(title, x_name, rows, ops, unit[1])
  print("\n" + "\n".join(lines))
  os.makedirs(args.out_dir, exist_ok=True)
  tff.files.write_text(os.path.join(args.out_dir, f"{stem}.md"), "\n".join(lines))
  plot(os.path.join(args.out_dir, f"{stem}.png"), panels)
  print(f"wrote {os.path.join(args.out_dir, stem)}.md and .png")
  emit_ratios(panels, settings, stem)


if __name__ == "__main__":
  main()
