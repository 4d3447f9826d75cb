"""The mixture-CDF flow's numeric inverse: its cost next to the closed-form direction, and
its error, float32 and float64.

Transformer (`tff.transformers.MixtureCDFLogit(K=5)`, random parameters, 2^17 coordinates):
`inverse_and_log_det` (data to latent, `z = logit F(x)`, closed form) against
`forward_and_log_det` (latent to data: bracketed Newton-bisection, a fixed 50 iterations),
each a `tf.function` with and without XLA; the round-trip error `|F^-1(F(x)) - x|` (median,
99.9th percentile, max) for x drawn around the components (bulk) and far out (tails,
|x| up to 50 component scales), and the same error measured in the latent, `|z' - z|` with
`z' = logit F(F^-1(z))`. Where the mixture's density is tiny (between far-apart narrow
components) `z` hardly moves with `x` and the x error is large by nature (`dx = dz / p(x)`);
the latent error shows the solver itself is at its tolerance there.
Flow (`tff.models.mixture_cdf_flow(D)`, its defaults): `sample(B)` (D sequential passes,
each a numeric inverse) against `log_prob` of B points (one pass), B = 1024.

  PYTHONPATH=. python benchmarks/mixture_cdf_inverse.py [--quick]
"""

import argparse
import statistics
import time

import numpy as np
import tensorflow as tf

import tfp_flows as tff
from benchmarks import readme


def median_ms(fn, *args, repeats):
  fn(*args)  # Trace and compile.
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    tf.nest.map_structure(lambda t: t.numpy(), fn(*args))
    times.append((time.perf_counter() - start) * 1e3)
  return statistics.median(times)


def transformer_rows(dtype, size, repeats):
  rng = np.random.default_rng(0)
  transform = tff.transformers.MixtureCDFLogit(5)
  params = tf.constant(rng.normal(size=[size, transform.num_params]), dtype)
  rows = []
  for region, spread in (("bulk", 3.), ("tails", 50.)):
    x = tf.constant(rng.normal(size=[size]) * spread, dtype)
    for jit in (False, True):
      to_latent = tf.function(transform.inverse_and_log_det, jit_compile=jit)
      to_data = tf.function(transform.forward_and_log_det, jit_compile=jit)
      z, _ = to_latent(x, params)
      back, _ = to_data(z, params)
      error = np.abs(back.numpy() - x.numpy())
      z_error = np.abs(to_latent(back, params)[0].numpy() - z.numpy())
      finite = np.isfinite(z.numpy())
      rows.append((dtype.name, region, jit, median_ms(to_latent, x, params, repeats=repeats),
                   median_ms(to_data, z, params, repeats=repeats), np.median(error[finite]),
                   np.quantile(error[finite], 0.999), error[finite].max(),
                   z_error[finite].max(), 1 - finite.mean()))
  return rows


def flow_rows(dims, batch, repeats):
  rows = []
  for dim in dims:
    flow = tff.models.mixture_cdf_flow(dim, seed=0)
    x = flow.sample(batch, seed=[0, 1])
    for jit in (False, True):
      log_prob = tf.function(flow.log_prob, jit_compile=jit)
      sample = tf.function(lambda seed, flow=flow: flow.sample(batch, seed=seed), jit_compile=jit)
      rows.append((dim, jit, median_ms(log_prob, x, repeats=repeats),
                   median_ms(sample, tf.constant([1, 2]), repeats=repeats)))
  return rows


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true")
  args = parser.parse_args()
  size, repeats, dims = (2**12, 2, [2]) if args.quick else (2**15, 5, [2, 16])
  print(f"MixtureCDFLogit(5) on {size:,} coordinates: ms per call (median of {repeats}), "
        "round-trip error |F^-1(F(x)) - x|")
  print(f"{'dtype':<8}{'x':<7}{'xla':<5}{'to latent':>10}{'to data':>9}{'ratio':>7}"
        f"{'median err':>12}{'99.9% err':>11}{'max err':>10}{'max z err':>11}{'inf z':>7}")
  rows = []
  for dtype in (tf.float32, tf.float64):
    for name, region, jit, latent, data, med, q, worst, z_worst, infinite in transformer_rows(
        dtype, size, repeats):
      rows.append([name, region, "XLA" if jit else "tf.function", f"{data / latent:.1f}",
                   f"{med:.1e}", f"{q:.1e}", f"{worst:.1e}", f"{z_worst:.1e}"])
      print(f"{name:<8}{region:<7}{'on' if jit else 'off':<5}{latent:>10.2f}{data:>9.2f}"
            f"{data / latent:>7.1f}{med:>12.1e}{q:>11.1e}{worst:>10.1e}{z_worst:>11.1e}"
            f"{infinite:>7.1%}")
  print("inf z: the share of tail points whose logit F(x) overflows (left out of the errors).")
  batch = 1024
  print(f"\nmixture_cdf_flow(D) (defaults), batch {batch}: ms per call")
  print(f"{'D':>4} {'xla':<5}{'log_prob':>10}{'sample':>9}{'sample/log_prob':>17}")
  flows = []
  for dim, jit, log_prob, sample in flow_rows(dims, batch, repeats):
    flows.append([str(dim), "XLA" if jit else "tf.function", readme.significant(log_prob),
                  readme.significant(sample), f"{sample / log_prob:.1f}"])
    print(f"{dim:>4} {'on' if jit else 'off':<5}{log_prob:>10.2f}{sample:>9.2f}"
          f"{sample / log_prob:>17.1f}")
  readme.emit("mixture_cdf_inverse/transformer", readme.markdown(
      ["dtype", "x", "", "to data / to latent (time)", "median error", "99.9% error",
       "max error", "max latent error"], rows)
      + f"\n\n`MixtureCDFLogit(5)` on {size:,} coordinates; error |F^-1(F(x)) - x|, latent "
      f"error |z' - z|; times: medians of {repeats} calls.")
  readme.emit("mixture_cdf_inverse/flow", readme.markdown(
      ["D", "", "log_prob ms", "sample ms", "sample / log_prob"], flows)
      + f"\n\n`tff.models.mixture_cdf_flow(D)` (its defaults), batch {batch}.")


if __name__ == "__main__":
  main()
