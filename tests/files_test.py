"""files.atomic_path: the new content replaces the file only when the write succeeds."""

import errno
import os

import pytest

from tfp_flows import files


def test_a_successful_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
  path = tmp_path / "model.keras"
  path.write_text("old")
  with files.atomic_path(path) as partial:
    assert partial.endswith(".keras") and os.path.dirname(partial) == str(tmp_path)
    with open(partial, "w") as f:
      f.write("new")
  assert path.read_text() == "new"
  assert os.listdir(tmp_path) == ["model.keras"]


@pytest.mark.parametrize("name", ["model.keras", "flow.weights.h5", "run.json"])
def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, name):
  path = tmp_path / name
  path.write_text("old")
  with pytest.raises(OSError, match="No space left"):
    with files.atomic_path(path) as partial:
      with open(partial, "w") as f:
        f.write("half")
      raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
  assert path.read_text() == "old"
  assert os.listdir(tmp_path) == [name]


def test_write_text_creates_a_new_file(tmp_path):
  files.write_text(tmp_path / "a.json", "{}\n")
  assert (tmp_path / "a.json").read_text() == "{}\n"


def test_a_new_file_gets_open_s_permissions_and_a_replaced_one_keeps_its_own(tmp_path):
  umask = os.umask(0o022)
  try:
    new = str(tmp_path / "new.json")
    files.write_text(new, "{}")
    assert os.stat(new).st_mode & 0o777 == 0o644  # As open(new, "w") would make it.
    private = str(tmp_path / "private.json")
    files.write_text(private, "{}")
    os.chmod(private, 0o600)
    files.write_text(private, '{"a": 1}')
    assert os.stat(private).st_mode & 0o777 == 0o600
  finally:
    os.umask(umask)
