"""The `main` of every py_test in //:BUILD: runs pytest on the module(s) named in argv.

A Bazel test passes exactly when its exit status is 0, so this exits with pytest's status
(0 all passed, 1 a test failed, 2 interrupted, 3 internal error, 4 usage error, 5 no tests
collected): a module whose tests fail, or that collects none, fails its target.

Inside Bazel's test environment (`TEST_TMPDIR` set) it first points every place a test may
write (HOME, so `~/.local/share/jupyter` and `~/.keras`; TMPDIR; Hypothesis's database) into
the test's private temporary directory, writes a JUnit report where Bazel asks for one
(`XML_OUTPUT_FILE`), honours `bazel test --test_filter=EXPR` as pytest's `-k EXPR`, and
runs shard `TEST_SHARD_INDEX` of `TEST_TOTAL_SHARDS` (a target's `shard_count`): the
module's collected tests `i` with `i % total == index`.

Usage: python tools/bazel/pytest_main.py tests/x/y_test.py [pytest args...]
"""

import os
import sys


def bazel_test_env(environ):
  """The environment changes and extra pytest arguments for Bazel's test environment."""
  tmp = environ.get("TEST_TMPDIR")
  if not tmp:
    return {}, []
  changes = {"HOME": os.path.join(tmp, "home"), "TMPDIR": tmp,
             "HYPOTHESIS_STORAGE_DIRECTORY": os.path.join(tmp, "hypothesis")}
  args = []
  if environ.get("XML_OUTPUT_FILE"):
    args.append("--junitxml=" + environ["XML_OUTPUT_FILE"])
  if environ.get("TESTBRIDGE_TEST_ONLY"):
    args += ["-k", environ["TESTBRIDGE_TEST_ONLY"]]
  return changes, args


class Shard:
  """A pytest plugin that keeps the collected tests `i` with `i % total == index`."""

  def __init__(self, index, total):
    self.index, self.total = index, total

  def pytest_collection_modifyitems(self, config, items):
    mine = [i % self.total == self.index for i in range(len(items))]
    config.hook.pytest_deselected(items=[item for item, m in zip(items, mine) if not m])
    items[:] = [item for item, m in zip(items, mine) if m]


def shard_plugins(environ):
  """`[Shard]` when Bazel shards the target (and the status file says we support it)."""
  total = int(environ.get("TEST_TOTAL_SHARDS", "1"))
  if total <= 1:
    return []
  if environ.get("TEST_SHARD_STATUS_FILE"):
    with open(environ["TEST_SHARD_STATUS_FILE"], "w"):
      pass
  return [Shard(int(environ["TEST_SHARD_INDEX"]), total)]


def main(argv):
  if not argv:
    sys.exit("Expected the test module(s) to run as arguments. Received: argv=[]")
  changes, extra_args = bazel_test_env(os.environ)
  os.environ.update(changes)
  if "HOME" in changes:
    os.makedirs(changes["HOME"], exist_ok=True)
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  try:
    import pytest  # pylint: disable=g-import-not-at-top
  except ImportError:
    sys.exit("Expected a Python with pytest, TensorFlow and the test extra (set "
             "TFP_FLOWS_PYTHON=/path/to/venv/bin/python, see docs/bazel.md). "
             f"Received: sys.executable={sys.executable}")
  return pytest.main([*argv, "-q", "-p", "no:cacheprovider", *extra_args],
                     plugins=shard_plugins(os.environ))


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
