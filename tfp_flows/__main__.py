"""python -m tfp_flows {train,sample,evaluate} --workdir=DIR [flags]

  train     trains --model on --data (resumes an interrupted run in DIR), then writes
            DIR/model.keras, DIR/samples.png, DIR/metrics.json and prints the test NLL.
  sample    writes a PNG (--output, default a new DIR/samples-N.png) of the model in DIR.
  evaluate  prints the test NLL and bits/dim of the model in DIR, on the data it was
            trained on (or --data).

Example: python -m tfp_flows train --workdir=/tmp/glow_digits  (glow on the 8x8 digits)
"""

from absl import flags

from tfp_flows.cli import main

if __name__ == "__main__":
  flags.adopt_module_key_flags(main)  # --help lists the CLI's flags.
  main.run()
