"""The flags of `python -m tfp_flows` (usage: tfp_flows/__main__.py) and its dispatch.

A command's failure (a bad flag value, data set, model or workdir) is one line on stderr
and exit status 1, not a traceback. Flags are parsed before TensorFlow loads (this module
and `model_zoo` import neither TensorFlow nor Keras), so `--help`, `--version` and flag
errors answer at once; the commands import it, quietly (`startup`).
"""

import sys

from absl import app
from absl import flags

from tfp_flows.cli import model_zoo
from tfp_flows.cli import startup

COMMANDS = ("train", "sample", "evaluate")

flags.DEFINE_string("workdir", None, "Directory of the run: run.json, backup/ (while "
                    "training), model.keras, metrics.json, samples.png.")
# Training.
flags.DEFINE_string("model", "glow", f"One of {', '.join(model_zoo.MODELS)}. Image flows "
                    f"({', '.join(model_zoo.IMAGE_MODELS)}) need image data; vector flows "
                    f"({', '.join(model_zoo.VECTOR_MODELS)}) take points, or images flattened "
                    "and dequantized to [-0.5, 0.5)^D.")
flags.DEFINE_string("data", "digits", "moons, circles, digits, or npz:PATH[?key=NAME&"
                    "test_key=NAME&test_fraction=F&channels_first=1] for integer images in a "
                    ".npz/.npy file. evaluate uses the run's data unless given.")
flags.DEFINE_integer("steps", 3000, "Optimizer steps in all.", lower_bound=1)
flags.DEFINE_integer("steps_per_checkpoint", None, "Steps per Keras epoch; a checkpoint is "
                     "saved after each. Must divide --steps. Default: the largest divisor "
                     "of --steps up to 250 (--steps itself when that would be under 10).",
                     lower_bound=1)
flags.DEFINE_boolean("overwrite", False, "train: replace the finished run in --workdir "
                     "(without it, train refuses a workdir that holds one; an interrupted "
                     "run resumes either way).")
flags.DEFINE_boolean("version", False, "Print the tfp_flows version and exit.")
flags.DEFINE_integer("batch_size", 64, "Training batch size.", lower_bound=1)
flags.DEFINE_float("learning_rate", 1e-3, "Adam's initial learning rate, cosine-decayed to 0.")
flags.DEFINE_integer("seed", 0, "Seed of the weights, the batches and the samples.",
                     lower_bound=0)
flags.DEFINE_boolean("jit_compile", None, "XLA-compile the training step. Default: on (after "
                     "~30 s of compiling, glow runs ~1.5x faster per step on CPU), off for "
                     "realnvp (XLA runs it ~2x slower).")
flags.DEFINE_boolean("conditional", False, "Train a class-conditional image flow p(x | label) "
                     "(glow, realnvp, flowpp on labelled data: digits). samples.png then has "
                     "one row per class; the test metrics are given the label, with the "
                     "accuracy of classifying by argmax_k log p(x | k).")
flags.DEFINE_boolean("quiet", False, "No Keras progress output (default: a progress bar on a "
                     "terminal, a line per epoch otherwise).")
# Model size.
flags.DEFINE_integer("hidden", None, "Width of the conditioner networks. Default: "
                     f"{model_zoo.defaults_of('hidden')}.", lower_bound=1)
flags.DEFINE_integer("depth", None, "glow, flowpp: steps per level; realnvp: ResNet blocks per "
                     f"coupling. Default: {model_zoo.defaults_of('depth')}.", lower_bound=1)
flags.DEFINE_integer("levels", None, "glow, flowpp: levels; realnvp: scales. Default: "
                     f"{model_zoo.defaults_of('levels')}.", lower_bound=1)
flags.DEFINE_integer("num_layers", None, "maf, iaf, mixture_cdf, nsf: layers. Default: "
                     f"{model_zoo.defaults_of('num_layers')}.", lower_bound=1)
flags.DEFINE_integer("num_components", None, "mixture_cdf: components per coordinate; "
                     "flowpp: logistics per coupling. "
                     f"Default: {model_zoo.defaults_of('num_components')}.", lower_bound=1)
# Evaluation.
flags.DEFINE_integer("eval_draws", 4, "Dequantization noise draws averaged in the test NLL of "
                     "images (evaluate: the training run's when not given).", lower_bound=1)
flags.DEFINE_integer("eval_seed", 0, "Seed of the test NLL's dequantization noise (evaluate: "
                     "the training run's when not given).", lower_bound=0)
# Sampling.
flags.DEFINE_integer("num_samples", None, "Samples to draw (default 64 for images, 1000 for "
                     "points; per class for a conditional run, default 8).", lower_bound=1)
flags.DEFINE_float("temperature", None, "Sampling temperature (default 0.7 for images, 1.0 "
                   "for points).", lower_bound=0.)
flags.DEFINE_string("output", None, "PNG of the samples (default: a new DIR/samples-N.png; "
                    "the training run's DIR/samples.png is kept).")
flags.DEFINE_string("output_npy", None, "Also save the samples to this .npy file.")

FLAGS = flags.FLAGS


def main(argv):
  """Runs the command in `argv`; prints a one-line error and returns 1 when it fails."""
  if FLAGS.version:
    from tfp_flows import __version__  # pylint: disable=import-outside-toplevel
    print(f"tfp_flows {__version__}")
    return 0
  command = argv[1] if len(argv) == 2 else None
  try:
    if command not in COMMANDS:
      raise ValueError(f"Expected one command: train, sample or evaluate. "
                       f"Received: {' '.join(argv[1:]) or 'none'}")
    if not FLAGS.workdir:
      raise ValueError("Expected --workdir=DIR. Received: no --workdir")
    with startup.quiet_start():
      from tfp_flows.cli import commands  # pylint: disable=import-outside-toplevel
    getattr(commands, command)(FLAGS)
  except (ValueError, OSError, ImportError) as error:
    program = " ".join(["python -m tfp_flows", *argv[1:2]])
    print(f"{program}: error: {error}", file=sys.stderr)
    return 1
  return 0


HELP_FLAGS = ("--help", "-h", "-?", "--helpshort", "--helpfull", "--helpxml")


def run():
  """`app.run(main)`, but `--help` exits 0 (absl exits 1 after printing the help)."""
  try:
    app.run(main)
  except SystemExit as exit_:
    asked_for_help = any(arg.split("=")[0] in HELP_FLAGS for arg in sys.argv[1:])
    if exit_.code == 1 and asked_for_help:
      raise SystemExit(0) from None
    raise
