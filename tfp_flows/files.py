"""The one way tfp_flows writes a file: to a temporary name beside it, then a rename.

A write that fails (a full disk, an error half way, a kill) leaves the previous file as it
was, and never a half-written file under the real name: `os.replace` is atomic on POSIX and
Windows within one directory.
"""

import contextlib
import os
import secrets

# Suffixes that Keras checks, kept at the end of the temporary name.
_SUFFIXES = (".weights.h5", ".keras", ".h5", ".json", ".png", ".npy", ".npz")


@contextlib.contextmanager
def atomic_path(path):
  """Yields a temporary path to write `path`'s new content to; renames it onto `path`.

      with files.atomic_path("model.keras") as partial:
        keras_model.save(partial)

  On an exception in the block the temporary file is removed and `path` is untouched.
  The temporary name keeps `path`'s suffix (".keras", ".weights.h5", ...), which Keras reads.

  Example:
    >>> import os, tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "samples.npy")
    >>> with tff.files.atomic_path(path) as partial:
    ...   np.save(partial, np.arange(3))
    >>> np.load(path).tolist()
    [0, 1, 2]
    >>> try:  # an error in the block leaves the old file as it was
    ...   with tff.files.atomic_path(path) as partial:
    ...     np.save(partial, np.arange(5))
    ...     raise RuntimeError("killed")
    ... except RuntimeError:
    ...   pass
    >>> np.load(path).tolist(), os.listdir(os.path.dirname(path))
    ([0, 1, 2], ['samples.npy'])
    >>> folder.cleanup()
  """
  path = os.fspath(path)
  directory, name = os.path.split(os.path.abspath(path))
  suffix = next((s for s in _SUFFIXES if name.endswith(s)), "")
  partial = _new_file(directory, f".{name[:len(name) - len(suffix)]}.", f".partial{suffix}")
  try:
    yield partial
    with open(partial, "rb") as written:  # On disk before it takes the real name.
      os.fsync(written.fileno())
    if os.path.exists(path):  # A replaced file keeps its permissions.
      os.chmod(partial, os.stat(path).st_mode & 0o7777)
    os.replace(partial, path)
  except BaseException:
    with contextlib.suppress(OSError):
      os.remove(partial)
    raise


def _new_file(directory, prefix, suffix):
  """Creates an empty file of a new name in `directory`, with the permissions `open` gives
  a new file (0666 less the umask; `tempfile.mkstemp` would make it 0600)."""
  while True:
    partial = os.path.join(directory, f"{prefix}{secrets.token_hex(4)}{suffix}")
    try:
      os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
      return partial
    except FileExistsError:
      continue


def write_text(path, text):
  """Writes `text` to `path` atomically.

  Example:
    >>> import os, tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "metrics.json")
    >>> tff.files.write_text(path, '{"bits_per_dim": 2.19}')
    >>> open(path).read(), os.listdir(os.path.dirname(path))  # no temporary file left
    ('{"bits_per_dim": 2.19}', ['metrics.json'])
    >>> folder.cleanup()
  """
  with atomic_path(path) as partial:
    with open(partial, "w") as f:
      f.write(text)


__all__ = ["atomic_path", "write_text"]


def __dir__():  # `dir(module)` lists the public names, not the imports (np, tf, ...).
  return __all__
