"""block_masked: the slabs hold every nonzero of MADE's masks; the sliced product is exact."""

import hypothesis
from hypothesis import strategies as st
import numpy as np
import tensorflow as tf

from tfp_flows.nn import block_masked
from tfp_flows.nn import made as made_lib


def test_degree_edges_split_the_degrees_into_contiguous_blocks():
  np.testing.assert_array_equal(block_masked.degree_edges(16, 4), [-1, 4, 8, 12, 16])
  np.testing.assert_array_equal(block_masked.degree_edges(3, 8), [-1, 1, 2, 3])  # <= D blocks
  np.testing.assert_array_equal(block_masked.degree_edges(1, 2), [-1, 1])


@hypothesis.settings(max_examples=60, deadline=None)
@hypothesis.given(event_size=st.integers(1, 12), fan_in=st.integers(1, 20),
                  fan_out=st.integers(1, 20), num_blocks=st.integers(1, 6), strict=st.booleans(),
                  start=st.integers(0, 20), stop=st.integers(0, 20))
def test_slabs_hold_every_nonzero_and_partition_the_columns(event_size, fan_in, fan_out,
                                                            num_blocks, strict, start, stop):
  degrees_in = made_lib.hidden_degrees(fan_in, event_size)
  degrees_out = made_lib.hidden_degrees(fan_out, event_size)
  mask = (degrees_out[np.newaxis] > degrees_in[:, np.newaxis]) if strict else (
      degrees_out[np.newaxis] >= degrees_in[:, np.newaxis])
  start, stop = min(start, fan_out), min(max(start, stop), fan_out)
  slabs = block_masked.slabs(degrees_in, degrees_out, block_masked.degree_edges(
      event_size, num_blocks), strict, start, stop)
  covered = np.zeros_like(mask)
  columns = []
  for c0, c1, rows in slabs:
    covered[:rows, c0:c1] = True
    columns += list(range(c0, c1))
  assert columns == list(range(start, stop)), "the slabs must partition [start, stop)"
  assert not np.any(mask[:, start:stop] & ~covered[:, start:stop]), "a nonzero is skipped"
  assert len(slabs) <= num_blocks


def test_matmul_of_the_pieces_is_the_masked_product():
  rng = np.random.default_rng(0)
  degrees_in, degrees_out = made_lib.hidden_degrees(9, 6), made_lib.hidden_degrees(11, 6)
  mask = (degrees_out[np.newaxis] >= degrees_in[:, np.newaxis]).astype(np.float64)
  kernel = tf.constant(rng.normal(size=(9, 11)) * mask)
  x = tf.constant(rng.normal(size=(4, 9)))
  for num_blocks in (1, 2, 3, 6):
    slabs = block_masked.slabs(degrees_in, degrees_out,
                               block_masked.degree_edges(6, num_blocks), False)
    out = block_masked.matmul(x, block_masked.split(kernel, slabs), 11)
    np.testing.assert_allclose(out, x @ kernel, rtol=1e-12, atol=1e-12)
  assert sum(r * (c1 - c0) for c0, c1, r in slabs) < mask.size  # it does skip work


def test_matmul_without_rows_gives_zeros():
  x = tf.ones([3, 0])
  out = block_masked.matmul(x, block_masked.split(tf.ones([0, 4]), [(0, 4, 0)]), 4)
  np.testing.assert_array_equal(out, np.zeros([3, 4]))
