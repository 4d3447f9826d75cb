"""Glow's invertible 1x1 convolution: one learned C x C matrix applied at every pixel."""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_flows import _random
from tfp_flows.bijectors import _checks

tfb = tfp.bijectors


class Invertible1x1Conv(tfb.Bijector):
  """`z[..., h, w, :] = W x[..., h, w, :]` (data to latent), `log|det dz/dx| = H W log|det W|`.

  As in Glow, `W` acts in the data-to-latent direction (TFP's `inverse`, the one training
  runs); sampling (`forward`) applies `W^-1`, built once per call from the factors (C x C
  triangular solves) and then one matmul over the pixels. With `lu_decomposed=True`
  (Glow's LU form) `W = P L (U + diag(sign(s) exp(log|s|)))`: `P` a fixed permutation, `L`
  unit lower triangular, `U` strictly upper triangular, so `log|det W| = sum(log|s|)` costs
  nothing and `W` cannot become singular. One C x C variable holds `L`'s strict lower
  triangle, `U`'s strict upper triangle and `log|s|` on its diagonal (C^2 numbers, all
  trained). With `lu_decomposed=False`, `W` is a free matrix and `log|det W|` comes from a QR
  decomposition (which XLA compiles; `slogdet` does not). Either way `W` starts as a random
  rotation.

  Args:
    channels: C, the size of the last axis.
    lu_decomposed: Glow's LU parameterisation (default) or a plain matrix.
    seed: seed of the random rotation; None draws it from NumPy's global state (which
      `keras.utils.set_random_seed` sets).
    dtype: float dtype of the variables.

  Example:
    >>> conv = tff.bijectors.Invertible1x1Conv(3, seed=0)
    >>> x = tf.random.normal([2, 4, 4, 3])
    >>> z = conv.inverse(x)  # z = W x at every pixel
    >>> bool(np.allclose(conv.forward(z), x, atol=1e-5))
    True
    >>> # W starts as a rotation: |det W| = 1, so the log-det is 0.
    >>> bool(np.allclose(conv.inverse_log_det_jacobian(x, event_ndims=3), 0., atol=1e-5))
    True

  References:
    Kingma, Dhariwal. Glow: Generative Flow with Invertible 1x1 Convolutions. NeurIPS 2018.
    https://arxiv.org/abs/1807.03039
  """

  def __init__(self, channels, lu_decomposed=True, seed=None, dtype=tf.float32,
               validate_args=False, name="invertible_1x1_conv"):
    parameters = dict(locals())
    if (isinstance(channels, bool) or not isinstance(channels, (int, np.integer))
        or channels < 1):
      raise ValueError(f"Expected channels to be an int >= 1. Received: channels={channels!r}")
    self._channels = int(channels)
    self._lu_decomposed = lu_decomposed
    self._input_dtype = tf.as_dtype(dtype)
    rotation = np.linalg.qr(_random.numpy_generator(seed).normal(size=(channels, channels)))[0]
    with tf.name_scope(name) as scope:
      if lu_decomposed:
        permutation, lower, upper = _plu(rotation)
        s = np.diag(upper)
        # P and sign(s) are fixed, but they are state: variables (not trained), so a
        # checkpoint or a saved model restores them with the rest.
        self._permutation = tf.Variable(permutation, dtype=self._input_dtype,
                                        trainable=False, name="permutation")
        self._sign_s = tf.Variable(np.sign(s), dtype=self._input_dtype, trainable=False,
                                   name="sign_s")
        self._lower_upper = tf.Variable(
            np.tril(lower, -1) + np.triu(upper, 1) + np.diag(np.log(np.abs(s))),
            dtype=self._input_dtype, name="lower_upper")
      else:
        self._weight = tf.Variable(rotation, dtype=self._input_dtype, name="weight")
      super().__init__(forward_min_event_ndims=3, validate_args=validate_args,
                       parameters=parameters, name=scope)

  @property
  def lu_decomposed(self):
    return self._lu_decomposed

  def _factors(self):
    """(P, L, U') with W = P L U'; L unit lower, U' upper with diagonal sign(s) exp(log|s|)."""
    eye = tf.eye(self._channels, dtype=self._input_dtype)
    log_abs_s = tf.linalg.diag_part(self._lower_upper)
    lower = tf.linalg.band_part(self._lower_upper, -1, 0) - tf.linalg.diag(log_abs_s) + eye
    upper = (tf.linalg.band_part(self._lower_upper, 0, -1) - tf.linalg.diag(log_abs_s)
             + tf.linalg.diag(self._sign_s * tf.exp(log_abs_s)))
    return self._permutation, lower, upper

  def weight(self):
    """The C x C matrix `W` of the data-to-latent direction, `z = W x` at every pixel."""
    if not self._lu_decomposed:
      return tf.convert_to_tensor(self._weight)
    permutation, lower, upper = self._factors()
    return permutation @ lower @ upper

  def inverse_weight(self):
    """`W^{-1}`, from the factors in the LU form (`U'^{-1} L^{-1} P^T`)."""
    if not self._lu_decomposed:
      return tf.linalg.inv(self.weight())
    permutation, lower, upper = self._factors()
    eye = tf.eye(self._channels, dtype=self._input_dtype)
    lower_inverse = tf.linalg.triangular_solve(lower, eye, lower=True)
    return tf.linalg.triangular_solve(upper, lower_inverse, lower=False) @ tf.transpose(
        permutation)

  def _checked(self, u, name):
    return _checks.checked_input(u, self._input_dtype, [None, None, self._channels],
                                 self.validate_args, name)

  def _forward(self, z):
    return _per_pixel(self.inverse_weight(), self._checked(z, "z"))

  def _inverse(self, x):
    return _per_pixel(self.weight(), self._checked(x, "x"))

  def _inverse_log_det_jacobian(self, x):
    x = self._checked(x, "x")
    if self._lu_decomposed:
      log_det = tf.reduce_sum(tf.linalg.diag_part(self._lower_upper))
    else:
      _, r = tf.linalg.qr(self.weight())  # log|det W| = sum log|diag R|.
      log_det = tf.reduce_sum(tf.math.log(tf.abs(tf.linalg.diag_part(r))))
    pixels = tf.cast(tf.reduce_prod(tf.shape(x)[-3:-1]), log_det.dtype)
    return pixels * log_det

  def _forward_log_det_jacobian(self, z):
    return -self._inverse_log_det_jacobian(self._checked(z, "z"))


def _per_pixel(matrix, u):
  """`matrix @ u[..., :]` at every pixel, as one 2-D matmul (a broadcast `matvec` is a
  batched matmul with one tiny matrix per pixel, ten times slower here)."""
  pixels = tf.reshape(u, [-1, tf.shape(u)[-1]])
  return tf.reshape(tf.matmul(pixels, matrix, transpose_b=True), tf.shape(u))


def _plu(matrix):
  """`(P, L, U)` with `matrix = P L U` (partial pivoting), as numpy arrays."""
  lower_upper, perm = tf.linalg.lu(tf.constant(matrix, tf.float64))
  lower_upper, perm = lower_upper.numpy(), perm.numpy()
  lower = np.tril(lower_upper, -1) + np.eye(len(matrix))
  # tf.linalg.lu: matrix[perm] == L U, so matrix = P L U with P = eye[perm]^T.
  return np.eye(len(matrix))[perm].T, lower, np.triu(lower_upper)
