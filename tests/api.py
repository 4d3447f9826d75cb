"""The public API as `docs/build_api.py` lists it (`PUBLIC_MODULES`, `public_names`), for the
tests of the reference and of the docstrings' examples."""

import importlib.util
import pathlib

_PATH = pathlib.Path(__file__).resolve().parents[1] / "docs" / "build_api.py"
_SPEC = importlib.util.spec_from_file_location("build_api", _PATH)
build_api = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(build_api)
