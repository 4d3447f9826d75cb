"""TensorFlow's start-up, quietly: the command line's messages are its own.

Importing TensorFlow and starting its devices prints C++ log lines to stderr (oneDNN and
CPU-instruction notices, "Could not find cuda drivers", `failed call to cuInit` on a machine
without a GPU), twice per process, whatever `TF_CPP_MIN_LOG_LEVEL` says: they are written
before TensorFlow reads it. `quiet_start()` sets `TF_CPP_MIN_LOG_LEVEL=2` (the info and
warnings of the run itself off) and leaves out the lines of that form written while the
commands' modules load and TensorFlow starts its devices, unless the user set
`TF_CPP_MIN_LOG_LEVEL` (then everything is printed as TensorFlow prints it). Any other line
written meanwhile (a Python warning, an error) is printed as it was.
"""

import contextlib
import os
import re
import sys
import tempfile

# A C++ log line of TensorFlow (absl's format: severity, date, time, thread, file:line),
# absl's notice before its log is set up, and the CPU-feature notice's second line.
STARTUP_LINE = re.compile(
    r"([IWE]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\] "
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|To enable the following instructions: .* rebuild TensorFlow)")


@contextlib.contextmanager
def quiet_start():
  """Runs its block (the imports of TensorFlow and the modules that use it), then starts
  TensorFlow's devices, without their start-up lines on stderr (see above)."""
  if "TF_CPP_MIN_LOG_LEVEL" in os.environ or "tensorflow" in sys.modules:
    yield
    return
  os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
  with _stderr_without_startup_lines():
    yield
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    tf.config.list_logical_devices()  # Starts the devices (the cuInit line).


@contextlib.contextmanager
def _stderr_without_startup_lines():
  """Captures file descriptor 2 (C++ writes there directly) and prints back what is not a
  start-up line."""
  sys.stderr.flush()
  saved = os.dup(2)
  with tempfile.TemporaryFile(mode="w+b") as captured:
    os.dup2(captured.fileno(), 2)
    try:
      yield
    finally:
      sys.stderr.flush()
      os.dup2(saved, 2)
      os.close(saved)
      captured.seek(0)
      kept = [line for line in captured.read().decode(errors="replace").splitlines(True)
              if not STARTUP_LINE.match(line)]
      sys.stderr.write("".join(kept))
      sys.stderr.flush()
