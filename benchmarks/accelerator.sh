#!/usr/bin/env bash
# Runs the speed benchmarks on a GPU (or whatever accelerator TensorFlow sees), side by side
# as on the CPU, and writes the same tables to benchmarks/results/ACCELERATOR.md (or $OUT/);
# README.md's tables (the CPU's) are left alone.
#
#   benchmarks/accelerator.sh                # from the repository root
#   PYTHON=/path/to/venv/bin/python TORCH_PYTHON=/path/to/torch/venv/bin/python benchmarks/accelerator.sh
#
# Needs TensorFlow (with CUDA) and TFP importable by $PYTHON (default python3); the PyTorch
# peers run when $TORCH_PYTHON is set (a venv with a CUDA torch, zuko, nflows, normflows). It
# stops with a message, before any benchmark, when TensorFlow does not import or sees no GPU (the GPU
# machine sometimes lent to this project had no TensorFlow: this script is ready for one
# that has it). Quality benchmarks (bits/dim, KL gaps) are left to the CPU: they train the
# same numbers on any device, only faster.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
out=${OUT:-benchmarks/results}
export PYTHONPATH=.

if ! "$python" -c "import tensorflow, tensorflow_probability" 2>/dev/null; then
  echo "benchmarks/accelerator.sh: TensorFlow and TFP do not import with $python; install" \
       "tfp_flows there first (pip install -e '.[benchmark]')." >&2
  exit 2
fi
gpus=$(TF_CPP_MIN_LOG_LEVEL=3 "$python" -c \
  "import tensorflow as tf; print(len(tf.config.list_physical_devices('GPU')))" 2>/dev/null)
if [ "$gpus" = "0" ]; then
  echo "benchmarks/accelerator.sh: TensorFlow sees no GPU here (nvidia-smi: $(nvidia-smi -L 2>&1 | head -1))." >&2
  exit 2
fi
nvidia-smi -L || true
torch_args=()
if [ -n "${TORCH_PYTHON:-}" ]; then torch_args=(--torch_python="$TORCH_PYTHON"); fi
mkdir -p "$out"
"$python" -m benchmarks.run --only=maf_vs_tfp,made_block_sparse,image_flows_speed,vector_flows_speed,mixture_cdf_inverse \
  "${torch_args[@]}" --out="$out/ACCELERATOR.md" --readme=
