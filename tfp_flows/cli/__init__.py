"""Command-line interface: `python -m tfp_flows {train,sample,evaluate} --workdir=DIR`."""
