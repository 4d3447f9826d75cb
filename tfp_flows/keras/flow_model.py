"""`FlowModel`: a Keras 3 model whose loss is a flow's negative log-likelihood."""

import inspect
import os
import random

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_flows import bijectors
from tfp_flows import conditioning
from tfp_flows import distributions
from tfp_flows import files
from tfp_flows import metrics as flow_metrics
from tfp_flows.keras import guards
from tfp_flows.keras import inputs
from tfp_flows.models import recipe

tfd = tfp.distributions


class _BorrowedVariable(keras.Variable):
  """A Keras variable that *is* an existing `tf.Variable` (no copy).

  Keras 3 tracks, trains and saves only its own variables; a TFP distribution holds
  `tf.Variable`s. Wrapping each one lets `fit`, the optimizer, `save` and `save_weights`
  see them, while the bijectors keep reading and writing the same storage.
  """

  def __init__(self, variable, name):
    super().__init__(initializer=lambda shape, dtype: variable, shape=variable.shape,
                     dtype=variable.dtype.name, trainable=variable.trainable, name=name)

  def _initialize_with_initializer(self, initializer):
    self._initialize(initializer(None, None))  # A tf.Variable: Keras keeps it as it is.


class UnreadableWeightsError(OSError, ValueError):
  """A weights file that exists but cannot be read (truncated, corrupt).

  A `ValueError` for users, and still an `OSError` so that
  `keras.callbacks.BackupAndRestore(double_checkpoint=True)` falls back to its previous copy
  when the latest one was cut short by a kill.
  """


@keras.saving.register_keras_serializable(package="tfp_flows")
class FlowModel(keras.Model):
  """Trains a `tfd.Distribution` with Keras: `compile(optimizer)`, `fit(x)`, `evaluate(x)`.

  The loss is the negative log-likelihood `-mean(log p(x))` in nats per example; `fit` and
  `evaluate` also report `bits_per_dim`. Every `tf.Variable` of the distribution is trained
  and saved: the Keras networks inside tfp_flows bijectors, raw variables (ActNorm, 1x1
  convolutions) and those of TFP's own bijectors in the chain (`tfb.Shift(tf.Variable(..))`,
  `tfb.ScaleMatvecLU`, ...). The model *shares* them with the distribution, so
  `model.distribution` is the trained flow, and a hand-written `tf.GradientTape` loop over
  `distribution.trainable_variables` trains the same weights.

  Mixed precision: build the flow (and this model) after
  `keras.mixed_precision.set_dtype_policy("mixed_bfloat16")` (or "mixed_float16", then
  `compile` wraps the optimizer in Keras's `LossScaleOptimizer`): the networks compute in
  low precision with float32 variables; inputs, log-densities, loss and metrics stay in
  the flow's float32 (`tfp_flows.nn._precision`).

  `model(x)` is `log_prob(x)`, shape `[N]`. Uninitialised ActNorms are initialised by `fit`
  on its first batch (see `initialize`).

  Conditional flows `p(x | c)` (built with `conditional_event_shape=[C]`, or `num_classes=K`
  for class labels) train on batches `(x, context)` (`fit(x, c)`, or a dataset of pairs)
  or `{"x": x, "context": c}`; `evaluate` takes the same, and `model((x, c))` is
  `log_prob(x, context=c)`. An unconditional flow given a context, or a conditional one
  given none, raises a `ValueError` (in `fit` too).

  Args:
    distribution: the flow, e.g. from `tff.models`. Build it (and this model) under
      `strategy.scope()` to train under a `tf.distribute` strategy.
    num_bins: K when `log_prob` is a density of data scaled to [0, 1) that has K levels
      (adds `D log K` in bits/dim); `None` when `log_prob` is already discrete (models that
      start with `UniformDequantization`, all image builders) or the data are continuous.
    seed: an int seeding the dequantization noise of training steps (flows with a
      dequantization): step t draws its noise with the stateless seed `[seed, t]`, so a
      run is reproducible with XLA too (where stateful ops ignore seeds), and a resumed
      run draws the noise the uninterrupted one would. `None`: drawn from Python's `random`
      (which `keras.utils.set_random_seed` seeds). Saved with the model.

  Example:
    >>> model = tff.keras.FlowModel(tff.models.maf(2, num_layers=1, hidden_units=[8]))
    >>> model.compile(keras.optimizers.Adam(1e-2))
    >>> x = np.random.normal(size=[64, 2]).astype(np.float32)
    >>> before = model.evaluate(x, verbose=0, return_dict=True)["loss"]
    >>> history = model.fit(x, batch_size=64, epochs=2, verbose=0)  # two steps
    >>> sorted(history.history)
    ['bits_per_dim', 'loss', ...]
    >>> bool(history.history["loss"][-1] < before)
    True
    >>> model(x).shape, model.sample(3).shape  # log p(x), samples
    (TensorShape([64]), TensorShape([3, 2]))
  """

  def __init__(self, distribution, num_bins=None, seed=None, **kwargs):
    super().__init__(**kwargs)
    if not isinstance(distribution, tfd.Distribution):
      raise TypeError("Expected distribution to be a tfp.distributions.Distribution. "
                      f"Received: distribution={distribution!r}")
    self._distribution = distribution
    self.num_bins = num_bins
    self.seed = random.randint(0, 2**31 - 1) if seed is None else int(seed)
    self._has_dequantization = conditioning.has_dequantization(distribution)
    self._event_shape = distribution.event_shape
    self._dtype_of_flow = tf.as_dtype(distribution.dtype)
    self.flow_variables = [_BorrowedVariable(v, _keras_name(v, i))
                           for i, v in enumerate(distribution.variables)]
    self.nll_tracker = keras.metrics.Mean(name="loss", dtype=self._dtype_of_flow.name)
    self.bits_per_dim_tracker = keras.metrics.Mean(name="bits_per_dim",
                                                   dtype=self._dtype_of_flow.name)
    self.nonfinite_examples_tracker = keras.metrics.Sum(name="nonfinite_examples")
    self.skipped_steps_tracker = keras.metrics.Sum(name=guards.SKIPPED)
    self.built = True

  @property
  def distribution(self):
    return self._distribution

  @property
  def input_dtype(self):
    """The flow's dtype: under a mixed global policy (with which `compile` wraps the
    optimizer in a LossScaleOptimizer for "mixed_float16") Keras would cast `model(x)`'s
    inputs to the low compute dtype; only the networks inside compute in it."""
    return self._dtype_of_flow.name

  @property
  def metrics(self):
    return [self.nll_tracker, self.bits_per_dim_tracker, self.nonfinite_examples_tracker,
            self.skipped_steps_tracker]

  @property
  def conditional(self):
    """Whether the flow is conditional: `log_prob`, `sample` and `fit` need a context."""
    return conditioning.conditional_event_shape(self._distribution) is not None

  def call(self, data):
    x, context = inputs.split(data)
    return self.log_prob(x, context)

  def log_prob(self, x, context=None, seed=None):
    """`log p(x)`, or `log p(x | context)`, shape `[N]` for `x: [N, *event_shape]`.

    `context`: `[N, C]` (one per example) or `[C]` (one for all); labels `[N]` or a scalar
    for a class-conditional flow (`num_classes`). `seed`: a stateless seed of the
    dequantization noise, for flows that have one (image flows).
    """
    kwargs = self._context_kwargs(context)
    if seed is not None:
      kwargs["seed"] = seed
    return self._distribution.log_prob(x, **kwargs)

  def log_prob_per_class(self, x, seed=None):
    """`[N, K]`: `log p(x | k)` of every class of a class-conditional flow (see
    `FlowDistribution.log_prob_per_class`); `argmax` over the last axis classifies `x`."""
    if not isinstance(self._distribution, distributions.FlowDistribution):
      raise ValueError("Expected a tff FlowDistribution built with num_classes. Received: "
                       f"{type(self._distribution).__name__}")
    return self._distribution.log_prob_per_class(x, seed=seed)

  def sample(self, n, temperature=1.0, seed=None, context=None):
    """`n` samples `[n, *event_shape]`; `temperature < 1` shrinks the base sample towards
    its mean (Glow).

    For a conditional flow: one context (`[C]`, or a scalar label) gives `[n, *event_shape]`
    drawn given it; a batch of `M` contexts (`[M, C]`, labels `[M]`) gives `n` samples for
    each, `[n, M, *event_shape]` (`sample(1, c)[0]` is one sample per context).
    """
    if isinstance(self._distribution, distributions.FlowDistribution):
      return self._distribution.sample(n, seed=seed, temperature=temperature,
                                       **self._context_kwargs(context))
    if temperature != 1.0:
      raise ValueError("Expected temperature=1.0 for a distribution that is not a "
                       f"tff FlowDistribution. Received: temperature={temperature!r}")
    return self._distribution.sample(n, seed=seed, **self._context_kwargs(context))

  def initialize(self, x, context=None, force=False):
    """Initialises the flow's ActNorms from the batch `x` (and its context, for a
    conditional flow), eagerly; returns how many."""
    x = tf.convert_to_tensor(x, self._dtype_of_flow)
    encoded = conditioning.encode(self._distribution, context, self._dtype_of_flow)
    if encoded is not None:
      encoded = conditioning.broadcast_to_batch(encoded, tf.shape(x)[:1], x.shape[:1],
                                                bool(self._distribution.num_classes))
    return bijectors.initialize_act_norms(self._distribution, x, force=force,
                                          conditional_input=encoded)

  def _context_kwargs(self, context):
    """`{"context": context}` for a FlowDistribution; other distributions take none."""
    if isinstance(self._distribution, distributions.FlowDistribution):
      return {} if context is None and not self.conditional else {"context": context}
    if context is not None:
      raise ValueError("Expected no context for a distribution that is not a tff "
                       f"FlowDistribution. Received: a context for {self._distribution.name!r}")
    return {}

  def get_config(self):
    flow_recipe = getattr(self._distribution, "recipe", None)
    if flow_recipe is None:
      raise NotImplementedError(
          f"Expected a distribution built by a tff.models builder ({', '.join(recipe.BUILDERS)})"
          " with plain arguments, to save the whole model. "
          f"Received: {self._distribution.name!r}, built some other way. Save its weights "
          "instead: model.save_weights('flow.weights.h5') or tf.train.Checkpoint(flow=dist).")
    return {"name": self.name, "distribution": flow_recipe, "num_bins": self.num_bins,
            "seed": self.seed}

  @classmethod
  def from_config(cls, config):
    config = dict(config)
    return cls(recipe.rebuild(config.pop("distribution")), **config)

  def load_own_variables(self, store):
    """Assigns every variable of the flow from `store`, or none: checks all of them first."""
    variables = self._trainable_variables + self._non_trainable_variables
    if len(store.keys()) != len(variables):
      raise ValueError(
          f"Expected {len(variables)} variables for the flow {self._distribution.name!r}. "
          f"Received: {len(store.keys())} in the saved file (a different model?).")
    values = [store[str(i)] for i in range(len(variables))]
    for variable, value in zip(variables, values):
      if tuple(variable.shape) != tuple(value.shape):
        raise ValueError(
            f"Expected shape {tuple(variable.shape)} for {variable.name}. Received: "
            f"{tuple(value.shape)} in the saved file (a different model?). Nothing was loaded.")
    for variable, value in zip(variables, values):
      variable.assign(value)

  def save(self, filepath, overwrite=True, zipped=None, **kwargs):
    """`keras.Model.save`, written to a temporary file and renamed: a failed save (a flow
    that cannot be saved whole, a full disk, a kill) leaves an existing file intact."""
    if zipped is False:  # A directory, not one file: Keras's own path.
      return super().save(filepath, overwrite=overwrite, zipped=zipped, **kwargs)
    self.get_config()  # Fails before anything is written for flows with no recipe.
    _check_overwrite(filepath, overwrite)
    with files.atomic_path(filepath) as partial:
      super().save(partial, overwrite=True, zipped=zipped, **kwargs)

  def save_weights(self, filepath, overwrite=True, max_shard_size=None):
    """`keras.Model.save_weights`, written to a temporary file and renamed (see `save`)."""
    if max_shard_size is not None:  # Several files: Keras's own path.
      return super().save_weights(filepath, overwrite=overwrite, max_shard_size=max_shard_size)
    _check_overwrite(filepath, overwrite)
    with files.atomic_path(filepath) as partial:
      super().save_weights(partial, overwrite=True)

  def load_weights(self, filepath, *args, **kwargs):
    """`keras.Model.load_weights` with clear errors; a failed load assigns nothing."""
    if not os.path.exists(filepath):
      raise FileNotFoundError(f"Expected a weights file at {filepath!r}. Received: no such file.")
    try:
      return super().load_weights(filepath, *args, **kwargs)
    except OSError as error:
      raise UnreadableWeightsError(
          f"Expected a readable Keras weights file at {filepath!r} (truncated or corrupt?). "
          f"Nothing was loaded. Reading it raised: {error}") from error

  def train_step(self, data):
    """One step on `-sum(log p(x)) / N` over the examples with a finite log-density.

    Examples with a non-finite entry or log-density are left out of the loss (counted in
    `nonfinite_examples`), so they cannot make a gradient NaN; a step whose loss or
    gradients are still not finite changes nothing and is counted in `nonfinite_steps`
    (`fit` stops there). The mean is over the *global* batch: each replica divides its sum
    by the total count and the optimizer sums the replicas' gradients, which is right for
    uneven (even empty) per-replica batches too.
    """
    x, context, usable = self._checked_batch(data)
    variables = [v for v in self.flow_variables if v.trainable]
    with tf.GradientTape() as tape:
      log_prob = self.log_prob(x, context, seed=self._training_noise_seed())
      loss, used = guards.nll_of_finite_rows(log_prob, usable)
      scaled_loss = self.optimizer.scale_loss(loss)
    grads = tape.gradient(scaled_loss, [v.value for v in variables])
    # A LossScaleOptimizer skips the steps whose scaled gradients overflow (and lowers its
    # scale) itself: only a non-finite loss is a bad step then.
    scaling = isinstance(self.optimizer, keras.optimizers.LossScaleOptimizer)
    finite = guards.all_finite(loss, [] if scaling else grads)
    guards.apply_if(finite, self.optimizer, grads, variables)
    self.skipped_steps_tracker.update_state(tf.cast(tf.logical_not(finite), tf.float32))
    return self._update_metrics(log_prob, used)

  def _training_noise_seed(self):
    """`[seed, step]`, the stateless seed of this step's dequantization noise (or None)."""
    if not self._has_dequantization:
      return None
    return tf.stack([tf.constant(self.seed, tf.int32),
                     tf.cast(self.optimizer.iterations, tf.int32)])

  def test_step(self, data):
    x, context, usable = self._checked_batch(data)
    log_prob = self.log_prob(x, context)
    return self._update_metrics(log_prob, usable & tf.math.is_finite(log_prob))

  def _checked_batch(self, data):
    """`(x, context, usable)` of a batch: checked, with the examples whose `x` or context
    is not finite zeroed and marked unusable (`guards.finite_rows`)."""
    x, context = inputs.split(data)
    x = inputs.checked_x(x, self._event_shape, self._dtype_of_flow)
    x, usable = guards.finite_rows(x, len(self._event_shape))
    if context is None:
      if self.conditional:  # Says so before any graph is built.
        conditioning.encode(self._distribution, None, self._dtype_of_flow)
      return x, None, usable
    if not self.conditional:
      conditioning.encode(self._distribution, context, self._dtype_of_flow)  # Raises.
    context = tf.convert_to_tensor(context)
    if context.dtype.is_floating:
      event_rank = len(conditioning.context_event_shape(self._distribution))
      context = tf.cast(context, self._dtype_of_flow)
      context, finite = guards.finite_rows(context, event_rank)
      usable &= finite
    return x, context, usable

  def _update_metrics(self, log_prob, used):
    """Per-example means over the examples `used`, so epochs with a short last batch
    average exactly; the others are counted in `nonfinite_examples`."""
    weight = tf.cast(used, log_prob.dtype)
    finite = tf.where(used, log_prob, tf.zeros_like(log_prob))
    self.nll_tracker.update_state(-finite, sample_weight=weight)
    self.bits_per_dim_tracker.update_state(
        flow_metrics.bits_per_dim(finite, self._event_shape, self.num_bins),
        sample_weight=weight)
    self.nonfinite_examples_tracker.update_state(tf.reduce_sum(1. - weight))
    return {m.name: m.result() for m in self.metrics}

  def fit(self, *args, **kwargs):
    """`keras.Model.fit`; also starts uninitialised ActNorms on the first batch, refuses
    empty data, keeps the flow's dtype and stops at a non-finite step (see `train_step`)."""
    arguments = _FIT_PARAMETERS.bind(self, *args, **kwargs).arguments
    arguments.pop("self")
    arguments.update(arguments.pop("kwargs", {}))
    x = arguments.get("x")
    inputs.check_not_empty(x)
    if isinstance(x, tf.data.Dataset):  # Keras ignores `shuffle` there, and warns if True.
      arguments.setdefault("shuffle", False)
    if has_uninitialized_act_norm(self._distribution):
      self.initialize(*inputs.first_batch(x, arguments.get("y"), arguments.get("batch_size")))
    if self.optimizer is not None and not self.optimizer.built:
      # Slot variables made now, eagerly, not while the first step is traced: that
      # halves the first step's compile time.
      with self.distribute_strategy.scope():
        self.optimizer.build(self.trainable_variables)
    # First, so that it stops `fit` before any other callback sees a skipped step.
    arguments["callbacks"] = [guards.StopOnNonFiniteStep(), *(arguments.get("callbacks") or [])]
    with inputs.floatx(self._dtype_of_flow):
      return super().fit(**arguments)

  def evaluate(self, *args, **kwargs):
    """`keras.Model.evaluate` in the flow's dtype (see `fit`)."""
    with inputs.floatx(self._dtype_of_flow):
      return super().evaluate(*args, **kwargs)


_FIT_PARAMETERS = inspect.signature(keras.Model.fit)


def _check_overwrite(filepath, overwrite):
  if not overwrite and os.path.exists(filepath):
    raise FileExistsError(f"Expected no file at {os.fspath(filepath)!r} with overwrite=False. "
                          "Received: an existing file (pass overwrite=True to replace it).")


def _keras_name(variable, index):
  name = variable.name.split(":")[0].replace("/", "_")
  return f"{index}_{name}"


def has_uninitialized_act_norm(distribution):
  """Whether `distribution` holds an ActNorm that has not been started from data yet."""
  return bool(bijectors.image.act_norm.uninitialized_act_norms(distribution))
