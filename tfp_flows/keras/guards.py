"""What keeps one bad batch from destroying a training run.

- `finite_rows`: the examples of a batch whose every entry is finite; the others are
  replaced by zeros before the flow sees them, so a NaN or infinite input cannot reach any
  gradient.
- `nll_of_finite_rows`: the loss leaves out examples whose log-density is not finite (an
  outlier so far in the tails that float arithmetic gives -inf); their gradient is exactly 0
  instead of NaN for every weight.
- `apply_if`: the optimizer's update runs only when the loss and every gradient are finite
  on every replica; otherwise nothing changes (no weight, no Adam moment, no step count).
- `StopOnNonFiniteStep`: the callback `FlowModel.fit` adds; it ends `fit` with a
  `FloatingPointError` at the first skipped step, before any later callback (a checkpoint)
  can run, so the weights on disk and in memory are the last finite ones.
"""

import keras
import tensorflow as tf

SKIPPED = "nonfinite_steps"  # The log of steps whose update was skipped.


def finite_rows(x, event_rank):
  """`(x with non-finite examples zeroed, mask [batch] of the finite ones)`."""
  finite = tf.math.is_finite(x)
  if event_rank:
    finite = tf.reduce_all(finite, axis=list(range(-event_rank, 0)))
  safe = tf.where(tf.reshape(finite, tf.concat([tf.shape(finite), [1] * event_rank], 0)),
                  x, tf.zeros_like(x))
  return safe, finite


def nll_of_finite_rows(log_prob, usable):
  """`(-sum of the usable finite log-densities / their global count, mask used)`.

  The count is all-reduced over replicas (one replica's mean would be wrong for uneven,
  even empty, per-replica batches).
  """
  used = usable & tf.math.is_finite(log_prob)
  kept = tf.where(used, log_prob, tf.zeros_like(log_prob))
  count = tf.reduce_sum(tf.cast(used, log_prob.dtype))
  count = tf.distribute.get_replica_context().all_reduce("sum", count)
  return -tf.reduce_sum(kept) / count, used


def all_finite(loss, grads):
  """Whether `loss` and every gradient are finite on every replica (one bool)."""
  finite = tf.math.is_finite(loss)
  for grad in grads:
    if grad is not None:
      finite &= tf.reduce_all(tf.math.is_finite(grad))
  bad = tf.cast(tf.logical_not(finite), tf.float32)
  return tf.distribute.get_replica_context().all_reduce("sum", bad) == 0.


def apply_if(finite, optimizer, grads, variables):
  """`optimizer.apply(grads, variables)` when `finite` (the same on every replica)."""

  def apply(grads):
    optimizer.apply(grads, variables)

  skip = lambda: None
  if tf.__internal__.distribute.strategy_supports_no_merge_call():
    tf.cond(finite, lambda: apply(grads), skip)
    return

  # Under a strategy whose optimizer update calls `merge_call` (MirroredStrategy), the cond
  # must sit in the cross-replica context, as in Keras's own LossScaleOptimizer; the
  # gradients travel as arguments, so each replica applies its own.
  def cross_replica(strategy, finite, grads):
    finite = strategy.experimental_local_results(finite)[0]

    def apply_on_each_replica():
      strategy.extended.call_for_each_replica(apply, args=(grads,))

    tf.cond(finite, apply_on_each_replica, skip)

  tf.distribute.get_replica_context().merge_call(cross_replica, args=(finite, grads))


class StopOnNonFiniteStep(keras.callbacks.Callback):
  """Ends `fit` with a `FloatingPointError` at the first step whose update was skipped."""

  def on_train_batch_end(self, batch, logs=None):
    if logs and float(logs.get(SKIPPED, 0.)) > 0:
      raise FloatingPointError(
          f"Expected a finite loss and finite gradients. Received: a non-finite one at batch "
          f"{batch} of this epoch; training stopped with the weights of the last finite "
          "step (no checkpoint was written after it). Lower the learning rate, or check the "
          "data for values the flow cannot map (validate_args=True says where).")
