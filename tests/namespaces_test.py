"""The single-file public modules list their public names in `dir()`, not their imports."""

import types

import pytest

import tfp_flows as tff

MODULES = [tff.data, tff.metrics, tff.files, tff.conditioning, tff.distributions]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_dir_lists_the_public_names_not_the_imports(module):
  names = dir(module)
  assert names == module.__all__
  assert not [n for n in names if isinstance(getattr(module, n), types.ModuleType)]
  public = sorted(n for n, v in vars(module).items() if not n.startswith("_")
                  and not isinstance(v, types.ModuleType)
                  and getattr(v, "__module__", module.__name__) == module.__name__)
  assert sorted(module.__all__) == public  # Nothing defined there is left out.


def test_imported_names_still_work():
  assert "np" not in dir(tff.data)
  assert tff.data.digits("test").shape == (359, 8, 8, 1)  # It uses np inside.
