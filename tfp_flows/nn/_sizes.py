"""Checks of the layer sizes the conditioners take; errors name the argument."""

import numbers


def _is_positive_int(value):
  return not isinstance(value, bool) and isinstance(value, numbers.Integral) and value >= 1


def positive_int(value, name):
  """`value` as an int >= 1; `ValueError` naming `name` otherwise."""
  if not _is_positive_int(value):
    raise ValueError(f"Expected {name} to be an int >= 1. Received: {name}={value!r}")
  return int(value)


def positive_ints(values, name):
  """`values` as a non-empty list of ints >= 1; `ValueError` naming `name` otherwise."""
  if (isinstance(values, (str, bytes)) or not hasattr(values, "__iter__")
      or not list(values) or not all(_is_positive_int(v) for v in values)):
    raise ValueError(f"Expected {name} to be a non-empty list of positive ints. "
                     f"Received: {name}={values!r}")
  return [int(v) for v in values]
