#!/bin/sh
# The interpreter of every py_test (see docs/bazel.md): $TFP_FLOWS_PYTHON, a Python with
# TensorFlow, TFP, Keras and the test extra (e.g. the venv of .ci/run), else python3 on PATH.
# .bazelrc passes TFP_FLOWS_PYTHON from the client's environment into each test.
exec "${TFP_FLOWS_PYTHON:-python3}" "$@"
