"""README's benchmark tables: marked blocks from a benchmark's output, put between README's
marks by `python -m benchmarks.run`."""

import pathlib
import re

import pytest

from benchmarks import readme
from benchmarks import run

REPO = pathlib.Path(run.REPO)
OLD = """# Title

Some text.

<!-- table: speed/times -->
| old | table |
|---|---|
<!-- /table -->

More text, kept.

<!-- table: other/ratios -->
| untouched |
<!-- /table -->
"""


def test_markdown_makes_a_table_with_a_rule_under_its_header():
  assert readme.markdown(["a", "b"], [[1, "x"], [2.5, "y"]]) == (
      "| a | b |\n|---|---|\n| 1 | x |\n| 2.5 | y |")


def test_number_says_n_a_for_a_missing_ratio():
  assert readme.number(0.456) == "0.46"
  assert readme.number(float("nan")) == "n/a"
  assert readme.number(None) == "n/a"


def test_times_have_three_significant_digits_and_no_exponent():
  assert [readme.significant(v) for v in (1234.5, 12.34, 10.0, 0.1234, 9.996, 0.0)] == [
      "1234", "12.3", "10.0", "0.123", "10.0", "0"]
  assert readme.significant(float("nan")) == "n/a"


def test_emitted_blocks_are_found_in_output_among_other_lines(capsys):
  print("timing...\ndone: train step")
  readme.emit("speed/times", "| new | table |\n|---|---|\n\nA caption.")
  print("load average at end 1.2")
  readme.emit("speed/ratios", "| r |")
  assert readme.blocks(capsys.readouterr().out) == {
      "speed/times": "| new | table |\n|---|---|\n\nA caption.", "speed/ratios": "| r |"}


def test_emit_rejects_a_name_a_mark_cannot_hold():
  with pytest.raises(ValueError, match=r"Expected a block name.*Received: 'a b'"):
    readme.emit("a b", "| x |")


def test_update_replaces_only_the_named_tables_and_keeps_the_rest_byte_for_byte():
  new, homeless = readme.update(OLD, {"speed/times": "| new |\n|---|"}, "*From a run.*")
  assert new == OLD.replace("| old | table |\n|---|---|\n",
                            "| new |\n|---|\n\n*From a run.*\n")
  assert homeless == []
  # Run again with the new table: the same place, no second source line.
  again, _ = readme.update(new, {"speed/times": "| newer |"}, "*From another run.*")
  assert again == OLD.replace("| old | table |\n|---|---|\n",
                              "| newer |\n\n*From another run.*\n")


def test_update_names_the_tables_the_readme_has_no_place_for():
  new, homeless = readme.update(OLD, {"speed/new_one": "| x |"}, "*From a run.*")
  assert new == OLD
  assert homeless == ["speed/new_one"]


@pytest.mark.parametrize("text, message", [
    ("<!-- table: a/b -->\n| x |\n", r"Expected <!-- /table --> after .*a/b.*end of the file"),
    ("| x |\n<!-- /table -->\n", r"Expected a table mark before .*line 2"),
    ("<!-- table: a/b -->\n<!-- table: c/d -->\n<!-- /table -->\n",
     r"Expected <!-- /table --> before the next .*c/d.* line 2 inside 'a/b'"),
    ("<!-- table: a/b -->\n<!-- /table -->\n<!-- table: a/b -->\n<!-- /table -->\n",
     r"Expected each table once.*'a/b' again on line 3"),
])
def test_broken_marks_are_an_error_naming_the_line(text, message):
  with pytest.raises(ValueError, match=message):
    readme.check_marks(text)
  with pytest.raises(ValueError, match=message):
    readme.update(text, {"a/b": "| y |"}, "*From a run.*")


def test_run_writes_the_tables_into_the_readme_file(tmp_path):
  path = tmp_path / "README.md"
  path.write_text(OLD)
  output = f"noise\n{readme.BEGIN.format('speed/times')}\n| new |\n{readme.END}\nmore\n"
  assert run.update_readme(str(path), output, "*From a run.*") == []
  assert path.read_text() == OLD.replace("| old | table |\n|---|---|\n",
                                         "| new |\n\n*From a run.*\n")
  # Output without blocks (a benchmark with no README table) leaves the file alone.
  before = path.stat().st_mtime_ns
  assert run.update_readme(str(path), "just text\n", "*From a run.*") == []
  assert path.stat().st_mtime_ns == before


def test_every_readme_table_is_one_a_known_benchmark_emits():
  text = (REPO / "README.md").read_text()
  names = readme.check_marks(text)
  assert names, "README.md has no benchmark tables"
  for name in names:
    script = name.split("/")[0]
    assert script in run.BENCHMARKS, name
    source = (REPO / "benchmarks" / f"{script}.py").read_text()
    assert re.search(rf"""emit\(\s*["']{re.escape(name)}["']""", source), (
        f"benchmarks/{script}.py never emits {name!r}")
