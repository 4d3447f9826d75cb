"""README's benchmark tables, written by the benchmarks themselves.

A benchmark prints each table it owns as a marked block,

  <!-- table: vector_flows_speed/affine_maf -->
  | | train step | log_prob | sample |
  ...
  <!-- /table -->

and `python -m benchmarks.run` copies every block of a finished benchmark into README.md
between the same two marks, with a line naming the run (date, machine, library versions),
so README's tables are the last run's output, never typed by hand. README text outside the
marks is kept byte for byte; a README mark whose benchmark did not run keeps its old table.
This module imports neither TF nor torch.
"""

import math
import re

BEGIN = "<!-- table: {} -->"
END = "<!-- /table -->"
_BLOCK = re.compile(r"^<!-- table: ([\w./-]+) -->\n(.*?)^<!-- /table -->$",
                    re.MULTILINE | re.DOTALL)
_MARK = re.compile(r"^<!-- (?:table: ([\w./-]+)|/table) -->$", re.MULTILINE)


def number(value, digits=2):
  """`value` with `digits` decimals; "n/a" where it is nan (a model left out)."""
  return "n/a" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def significant(value):
  """Three significant digits, never an exponent, whole numbers whole: 1234, 12.3, 10.0,
  0.123."""
  if value is None or math.isnan(value):
    return "n/a"
  if abs(value) >= 99.95:
    return f"{value:.0f}"
  value = float(f"{value:.3g}")  # 9.996 -> 10.0, not 10.00.
  if value == 0:
    return "0"
  return f"{value:.{max(0, 2 - math.floor(math.log10(abs(value))))}f}"


def markdown(header, rows):
  """A markdown table: `header` a list of column titles, `rows` lists of cells."""
  lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
  return "\n".join(lines)


def emit(name, text):
  """Prints `text` (a table and, if wanted, a line under it) as the block `name`."""
  if not re.fullmatch(r"[\w./-]+", name):
    raise ValueError(f"Expected a block name of letters, digits, _ . / -. Received: {name!r}")
  print(f"\n{BEGIN.format(name)}\n{text.strip()}\n{END}", flush=True)


def blocks(output):
  """{name: text} of the blocks in a benchmark's `output` (the last one of a name wins)."""
  return {name: text.strip() for name, text in _BLOCK.findall(output)}


def check_marks(readme):
  """The block names in `readme`, in order; ValueError where a mark is unclosed, nested,
  stray or repeated (one place per table)."""
  names, open_name = [], None
  for match in _MARK.finditer(readme):
    name = match.group(1)
    line = readme.count("\n", 0, match.start()) + 1
    if name is not None:
      if open_name is not None:
        raise ValueError(f"Expected {END} before the next table mark. Received: "
                         f"{BEGIN.format(name)} on line {line} inside {open_name!r}")
      if name in names:
        raise ValueError(f"Expected each table once in the README. Received: {name!r} "
                         f"again on line {line}")
      open_name = name
      names.append(name)
    else:
      if open_name is None:
        raise ValueError(f"Expected a table mark before {END}. Received: it alone on line "
                         f"{line}")
      open_name = None
  if open_name is not None:
    raise ValueError(f"Expected {END} after {BEGIN.format(open_name)}. Received: the end "
                     "of the file")
  return names


def update(readme, new_blocks, source):
  """`readme` with each of `new_blocks` ({name: text}) put between its marks, `source` (a
  line naming the run) under it. Returns (the new text, the names of `new_blocks` that
  have no place in `readme`)."""
  places = set(check_marks(readme))

  def replace(match):
    name = match.group(1)
    if name not in new_blocks:
      return match.group(0)
    return f"{BEGIN.format(name)}\n{new_blocks[name]}\n\n{source}\n{END}"

  return _BLOCK.sub(replace, readme), sorted(set(new_blocks) - places)
