"""`load_model`: `keras.models.load_model` (safe mode) with clear errors for bad files."""

import os
import zipfile

import keras

from tfp_flows.keras import flow_model


def load_model(filepath, compile=True):  # pylint: disable=redefined-builtin
  """Loads a `.keras` file saved by `FlowModel.save`, in Keras's default safe mode.

  Keras reports a truncated archive as "File not found"; this says what is wrong: a missing
  file, a file that is not a complete `.keras` archive, or weights that do not fit the
  model its config describes (then nothing is returned, never a half-loaded model).

  Example:
    >>> import os, tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> model = tff.keras.FlowModel(tff.models.maf(2, num_layers=1, hidden_units=[4]))
    >>> path = os.path.join(folder.name, "flow.keras")
    >>> model.save(path)
    >>> loaded = tff.keras.load_model(path)
    >>> x = np.random.normal(size=[3, 2]).astype(np.float32)
    >>> bool(np.allclose(loaded.log_prob(x), model.log_prob(x)))
    True
    >>> folder.cleanup()
  """
  filepath = os.fspath(filepath)
  if not os.path.exists(filepath):
    raise FileNotFoundError(f"Expected a .keras file at {filepath!r}. Received: no such file.")
  if not filepath.endswith(".keras"):
    raise ValueError(f"Expected a path ending in '.keras'. Received: filepath={filepath!r}")
  try:
    with zipfile.ZipFile(filepath) as archive:
      damaged = archive.testzip()
      names = set(archive.namelist())
  except (zipfile.BadZipFile, OSError) as error:
    raise ValueError(f"Expected a complete .keras archive at {filepath!r} (truncated or "
                     f"corrupt?). Reading it raised: {error}") from error
  missing = {"config.json", "model.weights.h5"} - names
  if damaged is not None or missing:
    raise ValueError(f"Expected a complete .keras archive at {filepath!r}. Received: "
                     f"damaged member {damaged!r}, missing {sorted(missing)}.")
  try:
    return keras.models.load_model(filepath, compile=compile)
  except OSError as error:  # h5py on weights cut short inside a well-formed archive.
    raise flow_model.UnreadableWeightsError(
        f"Expected readable weights in the .keras archive at {filepath!r} (truncated or "
        f"corrupt?). Nothing was loaded. Reading them raised: {error}") from error
