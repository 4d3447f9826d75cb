"""A short maximum-likelihood fit for the tests that check a flow learns."""

import tensorflow as tf


def full_batch_losses(dist, x, steps, learning_rate=3e-3):
  """`steps` Adam steps on `-mean(log p(x))` over the whole of `x`; the losses, in order."""
  optimizer = tf.keras.optimizers.Adam(learning_rate)
  variables = dist.trainable_variables

  @tf.function
  def step(batch):
    with tf.GradientTape() as tape:
      loss = -tf.reduce_mean(dist.log_prob(batch))
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return loss

  return [float(step(x)) for _ in range(steps)]
