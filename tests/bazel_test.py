"""The Bazel build (BUILD, tools/bazel/): every test module is a target that really runs it.

Cheap checks without Bazel: BUILD is evaluated as Python with stand-ins for `glob` and the
rules (it is plain Starlark), and the pytest runner that every target uses as `main` is run
on tiny temporary test files, so a runner that swallowed failures would fail here.
Under Bazel this module is a target too (//:bazel_test): it sees the files it declares.
"""

import ast
import os
import pathlib
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

REPO = pathlib.Path(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNNER = REPO / "tools" / "bazel" / "pytest_main.py"
RUNNER_LABEL = "//tools/bazel:pytest_main.py"


def glob(include, exclude=()):
  """Bazel's glob over the repository (no package boundaries below the root here)."""
  excluded = {p for pattern in exclude for p in REPO.glob(pattern)}
  return sorted({str(p.relative_to(REPO)) for pattern in include for p in REPO.glob(pattern)
                 if p.is_file() and p not in excluded})


def evaluate_build():
  """`({name: kwargs} of the py_test targets, BUILD's top-level names)`."""
  targets = {}
  namespace = {"glob": glob, "package": lambda **kw: None, "py_library": lambda **kw: None,
               "py_test": lambda **kw: targets.setdefault(kw["name"], kw)}
  exec(compile((REPO / "BUILD").read_text(), "BUILD", "exec"), namespace)  # pylint: disable=exec-used
  return targets, namespace


def modules_by_target():
  """`{target name: module}`: tests/keras/saving_test.py is //:keras_saving_test."""
  return {m[len("tests/"):-len(".py")].replace("/", "_"): m
          for m in glob(["tests/**/*_test.py"])}


def test_every_test_module_is_one_target_named_after_it():
  expected = modules_by_target()
  assert len(expected) > 30 and expected["bazel_test"] == "tests/bazel_test.py"
  assert sorted(evaluate_build()[0]) == sorted(expected)


def test_every_target_runs_its_module_through_the_pytest_runner():
  targets, _ = evaluate_build()
  for name, module in modules_by_target().items():
    target = targets[name]
    assert target["main"] == RUNNER_LABEL, name
    assert RUNNER_LABEL in target["srcs"] and module in target["srcs"], name
    assert target["args"] == [f"$(rootpath {module})"], name
    assert target["size"] in ("medium", "large", "enormous"), name


def test_build_lists_only_existing_modules():
  """A renamed module left in a list would silently lose its timeout or shards."""
  _, namespace = evaluate_build()
  modules = set(glob(["tests/**/*_test.py"]))
  for listed in ("SUBPROCESSES", "QUICK", "SHARDS", "EXTRA"):
    assert set(namespace[listed]) <= modules, listed


def imported_test_modules(module):
  """The other `tests/**/*_test.py` files that `module` imports (they are not :test_support)."""
  found = set()
  for node in ast.walk(ast.parse((REPO / module).read_text())):
    if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tests"):
      names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    elif isinstance(node, ast.Import):
      names = [alias.name for alias in node.names if alias.name.startswith("tests")]
    else:
      continue
    found |= {name.replace(".", "/") + ".py" for name in names if name.endswith("_test")}
  return found - {module}


def test_modules_that_import_other_test_modules_declare_them():
  """Bazel puts only declared files in a target's runfiles: an undeclared one fails there."""
  _, namespace = evaluate_build()
  for module in glob(["tests/**/*_test.py"]):
    assert imported_test_modules(module) <= set(namespace["EXTRA"].get(module, [])), module


def run_runner(tmp_path, source, env=None):
  """Runs the runner on a temporary test module; returns the finished process."""
  module = tmp_path / "tiny_test.py"
  module.write_text(source)
  return subprocess.run([sys.executable, str(RUNNER), str(module)], cwd=tmp_path,
                        env={**os.environ, **(env or {})}, capture_output=True, text=True,
                        timeout=120)


TWO_TESTS = """
import os
def test_passes():
  assert os.environ["HOME"].startswith(os.environ.get("TEST_TMPDIR", "/"))
def test_fails():
  assert 1 == 2
"""


@pytest.fixture
def bazel_env(tmp_path):
  """What `bazel test` sets for a test: its private temporary directory and report file."""
  (tmp_path / "test_tmp").mkdir()
  return {"TEST_TMPDIR": str(tmp_path / "test_tmp"),
          "XML_OUTPUT_FILE": str(tmp_path / "test.xml")}


def test_runner_exits_non_zero_and_reports_the_failing_test(tmp_path, bazel_env):
  process = run_runner(tmp_path, TWO_TESTS, bazel_env)
  assert process.returncode == 1, process.stdout + process.stderr
  assert "1 failed, 1 passed" in process.stdout
  cases = ET.parse(bazel_env["XML_OUTPUT_FILE"]).getroot().iter("testcase")
  failed = {case.get("name"): case.find("failure") is not None for case in cases}
  assert failed == {"test_passes": False, "test_fails": True}


def test_runner_honours_test_filter_and_keeps_home_in_test_tmpdir(tmp_path, bazel_env):
  process = run_runner(tmp_path, TWO_TESTS, {**bazel_env, "TESTBRIDGE_TEST_ONLY": "passes"})
  assert process.returncode == 0, process.stdout + process.stderr
  assert "1 passed, 1 deselected" in process.stdout


def test_runner_runs_one_shard_of_the_tests(tmp_path, bazel_env):
  status_file = tmp_path / "shard_status"
  shard = {**bazel_env, "TEST_TOTAL_SHARDS": "2", "TEST_SHARD_STATUS_FILE": str(status_file)}
  passing = run_runner(tmp_path, TWO_TESTS, {**shard, "TEST_SHARD_INDEX": "0"})
  assert passing.returncode == 0 and "1 passed, 1 deselected" in passing.stdout, passing.stdout
  assert status_file.exists()  # Bazel's sharding protocol: the runner says it shards.
  failing = run_runner(tmp_path, TWO_TESTS, {**shard, "TEST_SHARD_INDEX": "1"})
  assert failing.returncode == 1 and "1 failed, 1 deselected" in failing.stdout, failing.stdout


def test_runner_fails_a_module_that_collects_no_tests(tmp_path):
  process = run_runner(tmp_path, "def helper():\n  pass\n")
  assert process.returncode == 5, process.stdout + process.stderr


def test_python_wrapper_runs_tfp_flows_python():
  process = subprocess.run(
      ["sh", str(REPO / "tools" / "bazel" / "python.sh"), "-c",
       "import sys; print(sys.executable)"],
      env={**os.environ, "TFP_FLOWS_PYTHON": sys.executable}, capture_output=True, text=True,
      timeout=60, check=True)
  assert process.stdout.strip() == sys.executable
