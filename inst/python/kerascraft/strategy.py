"""Scaling out: the distribution strategy that fits the machine, devices simulated on a CPU,
and global batch sizes.

kerascraft uses the existing engines: ``tf.distribute`` on the TensorFlow backend and
``keras.distribution`` on JAX. It never invents its own cluster protocol. The parts people
get wrong are made right by default:

- build *and compile* the model inside ``strategy.scope()`` (:func:`check_strategy` says
  when a model was built outside it);
- the ``batch_size`` given to ``fit()`` is the *global* batch, split over the replicas
  (:func:`global_batch_size`), and a larger batch wants a larger learning rate
  (:func:`scaled_learning_rate`);
- ``steps_per_execution`` fuses several steps per device call
  (:func:`kerascraft.fusion.tune_steps_per_execution` measures which value pays).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading

from kerascraft.errors import InputError

log = logging.getLogger(__name__)

TPU_LOOKUP_SECONDS = 10.0


def _backend() -> str:
    import keras

    return keras.config.backend()


class SingleDevice:
    """No distribution: one device. Has ``scope()`` (does nothing) so code that uses a
    strategy runs unchanged, ``num_replicas_in_sync`` (1) and ``reason``."""

    num_replicas_in_sync = 1

    def __init__(self, reason: str):
        self.reason = reason

    def scope(self):
        return contextlib.nullcontext()

    def __repr__(self):
        return f"SingleDevice(reason={self.reason!r})"


def _with_reason(strategy, reason):
    strategy.reason = reason
    _explain_scope_errors(strategy)
    return strategy


def _explain_scope_errors(strategy):
    """Make ``fit()`` inside this strategy's scope say so when the model was built outside it.

    Keras stops such a model with a bare ``AssertionError`` from its optimizer; the scope of
    a strategy kerascraft made turns it into :func:`check_strategy`'s error, which names the
    problem and the fix. Only this strategy's ``scope()`` is wrapped: ``keras.Model`` and
    every other strategy are left as they are.
    """
    if _backend() != "tensorflow" or getattr(strategy, "_kc_explains", False):
        return
    enter = strategy.scope

    @contextlib.contextmanager
    def scope():
        with enter():
            try:
                yield
            except AssertionError as err:
                for model in _models_in(err.__traceback__):
                    check_strategy(model, strategy)  # raises the error that explains it
                raise

    strategy.scope = scope
    strategy._kc_explains = True


def _models_in(traceback):
    """The Keras models that the frames of ``traceback`` hold (the one being fitted among
    them: the caller's variable, or the arguments of a wrapper of ``fit()``)."""
    import keras

    seen = {}
    while traceback is not None:
        for value in traceback.tb_frame.f_locals.values():
            for v in (value if isinstance(value, (tuple, list)) else (value,)):
                if isinstance(v, keras.Model):
                    seen[id(v)] = v
        traceback = traceback.tb_next
    return list(seen.values())


# ---------------------------------------------------------------------------------------
# simulated devices


def simulate_devices(n: int) -> list:
    """Split the CPU into ``n`` logical devices, to try multi-device code on a laptop.

    Must run before the backend starts (before the first TensorFlow op, or before JAX
    initialises its devices): in a fresh Python process, or a fresh R session, first thing.

    Returns:
        The names of the logical devices.

    Raises:
        RuntimeError: when called too late, with what to do instead.
    """
    n = int(n)
    if n < 1:
        raise InputError(f"simulate_devices() needs n >= 1, got {n}.")
    late = ("simulate_devices({n}) must run before {what} starts, and it already has "
            "({have} device(s)). Call it first thing in a fresh process (in R: restart the "
            "session, then library(kerascraft); simulate_devices({n}) before any other call).")
    if _backend() == "jax":
        import jax

        from kerascraft.compat import jax as compat_jax

        if compat_jax.backends_are_initialized():
            have = jax.local_device_count("cpu")
            if have != n:
                raise RuntimeError(late.format(n=n, what="JAX", have=have))
        else:
            flags = [f for f in os.environ.get("XLA_FLAGS", "").split()
                     if not f.startswith("--xla_force_host_platform_device_count")]
            os.environ["XLA_FLAGS"] = " ".join(flags + [f"--xla_force_host_platform_device_count={n}"])
        return [str(d) for d in jax.devices("cpu")]
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is not None and len(current) == n:
        return [d.name for d in tf.config.list_logical_devices("CPU")]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)
    except RuntimeError:
        have = len(tf.config.list_logical_devices("CPU"))
        raise RuntimeError(late.format(n=n, what="TensorFlow", have=have)) from None
    return [d.name for d in tf.config.list_logical_devices("CPU")]


# ---------------------------------------------------------------------------------------
# strategies


def _tf_config() -> dict | None:
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return None
    try:
        config = json.loads(raw)
    except ValueError as err:
        raise InputError(f"TF_CONFIG is not valid JSON ({err}); write it with "
                         "kerascraft.tf_config(workers, index).") from None
    return config


def _cluster_size(config) -> int:
    cluster = (config or {}).get("cluster", {})
    return sum(len(v) for k, v in cluster.items() if k in ("chief", "worker"))


def _tpu_hint() -> bool:
    """Only look for a TPU where something says there may be one (the look-up can hang)."""
    if any(os.environ.get(k) for k in ("TPU_NAME", "COLAB_TPU_ADDR", "TPU_WORKER_ID",
                                         "TPU_ACCELERATOR_TYPE")):
        return True
    return os.path.exists("/dev/accel0") or os.path.exists("/dev/vfio/0")


def _connect_tpu(tpu=None, timeout=TPU_LOOKUP_SECONDS):
    """A TPUClusterResolver connected within ``timeout`` seconds, or the error why not."""
    import tensorflow as tf

    result = {}

    def look():
        try:
            result["resolver"] = tf.distribute.cluster_resolver.TPUClusterResolver.connect(tpu=tpu)
        except Exception as err:  # noqa: BLE001 - reported to the caller
            result["error"] = err

    thread = threading.Thread(target=look, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        return None, TimeoutError(f"no answer from a TPU within {timeout:g} s")
    return result.get("resolver"), result.get("error")


def tpu_strategy(tpu=None, timeout: float = TPU_LOOKUP_SECONDS):
    """``TPUStrategy`` on the TPU named ``tpu`` (or the one this machine has).

    Raises:
        RuntimeError: when no TPU answers, saying what was looked for.
    """
    if _backend() != "tensorflow":
        raise RuntimeError("tpu_strategy() is tf.distribute's; on the JAX backend, JAX finds "
                           "TPUs itself: use auto_strategy() (keras.distribution.DataParallel).")
    import tensorflow as tf

    resolver, error = _connect_tpu(tpu, timeout)
    if resolver is None:
        raise RuntimeError(f"no TPU found ({error}). tpu_strategy() needs a TPU VM or a TPU "
                           "address (tpu='grpc://...' or the TPU's name); on other machines "
                           "use auto_strategy().")
    return _with_reason(tf.distribute.TPUStrategy(resolver), f"TPU {tpu or 'of this machine'}")


def mirrored_strategy(devices=None):
    """``MirroredStrategy`` over ``devices`` (default: every GPU, else every logical CPU)."""
    if _backend() != "tensorflow":
        raise RuntimeError("mirrored_strategy() is tf.distribute's, for the TensorFlow backend; "
                           "on JAX use auto_strategy() (keras.distribution.DataParallel).")
    import tensorflow as tf

    if devices is None:
        devices = [d.name for d in tf.config.list_logical_devices("GPU")] or \
            [d.name for d in tf.config.list_logical_devices("CPU")]
    devices = [devices] if isinstance(devices, str) else list(devices)
    known = {d.name.lower().replace("/device:", "/") for d in tf.config.list_logical_devices()}
    unknown = [d for d in devices if d.lower().replace("/device:", "/") not in known]
    if unknown:
        raise InputError(f"no device(s) {unknown} here; there are {sorted(known)}. "
                         "simulate_devices(n) splits the CPU into n devices.")
    strategy = tf.distribute.MirroredStrategy(devices)
    return _with_reason(strategy, f"{len(devices)} device(s): {', '.join(devices)}")


def multi_worker_strategy():
    """``MultiWorkerMirroredStrategy`` for the cluster that ``TF_CONFIG`` describes.

    Keras 3.15's ``fit()`` does not run under it (a ``PerReplica`` ValueError with two
    workers on one machine); train with :func:`fit_distributed`, a loop over
    ``strategy.run`` that does.
    """
    if _backend() != "tensorflow":
        raise RuntimeError("multi_worker_strategy() is tf.distribute's, for the TensorFlow backend.")
    import tensorflow as tf

    config = _tf_config()
    if _cluster_size(config) < 2:
        raise RuntimeError("multi_worker_strategy() needs TF_CONFIG describing a cluster of at "
                           "least two workers; write it with kerascraft.tf_config(workers, index).")
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    task = config.get("task", {})
    return _with_reason(strategy, f"TF_CONFIG: {_cluster_size(config)} workers, this one is "
                                  f"{task.get('type')} {task.get('index')}")


def auto_strategy(tpu_timeout: float = TPU_LOOKUP_SECONDS):
    """The strategy that fits this machine, with ``reason`` saying why it was chosen.

    TensorFlow backend, in order: a TPU (looked up only where the environment suggests one,
    for at most ``tpu_timeout`` seconds); ``MultiWorkerMirroredStrategy`` when ``TF_CONFIG``
    describes a cluster; ``MirroredStrategy`` over several GPUs, or over several logical CPUs
    made by :func:`simulate_devices`; otherwise one device.
    JAX backend: ``keras.distribution.DataParallel`` over several devices; otherwise one
    device. Build and compile models inside ``strategy.scope()``.
    """
    if _backend() == "jax":
        import jax
        import keras

        devices = jax.devices()
        if len(devices) > 1:
            dist = keras.distribution.DataParallel(devices=devices)
            dist.num_replicas_in_sync = len(devices)
            return _with_reason(dist, f"JAX: data parallel over {len(devices)} "
                                      f"{devices[0].platform.upper()} devices")
        return SingleDevice(f"JAX: one {devices[0].platform.upper()} device; "
                            "keras.distribution needs several (simulate_devices(n) on a CPU)")
    if _backend() != "tensorflow":
        return SingleDevice(f"the {_backend()} backend: kerascraft distributes on TensorFlow and JAX")
    import tensorflow as tf

    if _tpu_hint():
        resolver, error = _connect_tpu(None, tpu_timeout)
        if resolver is not None:
            return _with_reason(tf.distribute.TPUStrategy(resolver), "a TPU was found")
        log.warning(f"the environment suggests a TPU, but none answered ({error}).")
    if _cluster_size(_tf_config()) > 1:
        return multi_worker_strategy()
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return _with_reason(tf.distribute.MirroredStrategy([g.name for g in gpus]),
                            f"{len(gpus)} GPUs: MirroredStrategy")
    cpus = tf.config.list_logical_devices("CPU")
    if not gpus and len(cpus) > 1:
        return _with_reason(tf.distribute.MirroredStrategy([c.name for c in cpus]),
                            f"{len(cpus)} logical CPU devices (simulated): MirroredStrategy")
    what = "one GPU" if gpus else "one CPU device"
    return _with_reason(tf.distribute.get_strategy(), f"{what}: the default strategy")


def tf_config(workers, index: int, task_type: str = "worker") -> str:
    """``TF_CONFIG`` for a cluster of ``workers`` (``"host:port"`` strings, or a number of
    workers on 127.0.0.1 with free ports), as this process's task ``index``.

    Returns the JSON string; set it with ``os.environ["TF_CONFIG"] = ...`` before TensorFlow
    starts, in each worker.
    """
    if isinstance(workers, int):
        workers = [f"127.0.0.1:{p}" for p in free_ports(workers)]
    workers = list(workers)
    if not 0 <= int(index) < len(workers):
        raise InputError(f"index must be between 0 and {len(workers) - 1}, got {index}.")
    return json.dumps({"cluster": {"worker": workers}, "task": {"type": task_type, "index": int(index)}})


def free_ports(n: int) -> list:
    """``n`` TCP ports free on 127.0.0.1 now."""
    socks, ports = [], []
    for _ in range(int(n)):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


# ---------------------------------------------------------------------------------------
# batch size and the scope


def replicas(strategy) -> int:
    if strategy is None:
        return 1
    return int(getattr(strategy, "num_replicas_in_sync", 1))


def global_batch_size(per_replica: int, strategy=None) -> int:
    """The ``batch_size`` to give ``fit()``: it is global, split over the replicas, so each
    replica sees ``per_replica`` samples per step."""
    per_replica = int(per_replica)
    if per_replica < 1:
        raise InputError(f"per_replica must be at least 1, got {per_replica}.")
    return per_replica * replicas(strategy)


def scaled_learning_rate(learning_rate: float, strategy=None, base_replicas: int = 1) -> float:
    """The linear scaling rule: a learning rate tuned for ``base_replicas`` replicas (the
    same per-replica batch), scaled to the replicas of ``strategy``. Use a warm-up for large
    factors."""
    return float(learning_rate) * replicas(strategy) / int(base_replicas)


def check_strategy(model, strategy=None) -> None:
    """Raise when ``model``'s variables were not created under ``strategy.scope()``.

    Keras fails on such a model with a bare ``AssertionError`` deep in ``fit()``; this says
    what happened and the fix. ``strategy`` defaults to the one in effect. Once kerascraft
    has made a strategy, ``fit()`` under a scope runs this check itself.
    """
    if _backend() != "tensorflow":
        return
    import tensorflow as tf

    strategy = strategy or tf.distribute.get_strategy()
    if replicas(strategy) == 1 and not tf.distribute.has_strategy():
        return
    outside = [v.path for v in model.weights
               if not strategy.extended.variable_created_in_scope(getattr(v, "value", v))]
    if outside:
        raise InputError(
            f"the model's variables ({len(outside)} of {len(model.weights)}, e.g. "
            f"{outside[0]}) were created outside this strategy's scope, so it cannot train "
            "under it. Build and compile the model inside the scope: in Python `with "
            "strategy.scope(): model = build()`, in R `with(strategy$scope(), { model <- "
            "build() })`; then call fit() as usual.")


# ---------------------------------------------------------------------------------------
# training under any tf.distribute strategy, multi-worker included


def _task_index():
    config = _tf_config() or {}
    return int(config.get("task", {}).get("index", 0))


def fit_distributed(build_model, x, y, epochs=1, batch_size=32, strategy=None, shuffle=True,
                    seed=0, verbose=1):
    """Build and train a model under a ``tf.distribute`` strategy with a training loop over
    ``strategy.run`` — the path that works with ``MultiWorkerMirroredStrategy``, where
    Keras 3.15's ``fit()`` fails.

    Run the same call in every worker (each with its ``TF_CONFIG``, see :func:`tf_config`):
    the workers split every global batch and all-reduce the gradients, so they end with
    identical weights, the same as one process training on the same global batches.

    Args:
        build_model: a function with no arguments that returns a compiled model; it is
            called inside the strategy's scope.
        x, y: training data (arrays; float64 becomes float32).
        epochs: passes over the data.
        batch_size: the global batch, split over all replicas of all workers.
        strategy: default :func:`auto_strategy` (multi-worker when ``TF_CONFIG`` says so).
        shuffle, seed: the same seed in every worker keeps their batches consistent.
        verbose: 1 prints one line per epoch (from worker 0 only).

    Returns:
        dict: ``model``, ``history`` (``{"loss": [...]}`` per epoch), ``strategy``.
    """
    if _backend() != "tensorflow":
        raise RuntimeError("fit_distributed() trains under tf.distribute (TensorFlow backend); "
                           "on JAX, fit() under auto_strategy().scope() distributes already.")
    import tensorflow as tf

    from kerascraft.pipeline import make_dataset

    strategy = strategy or auto_strategy()
    with strategy.scope():
        model = build_model()
        if getattr(model, "optimizer", None) is None:
            raise InputError("build_model() must return a compiled model (an optimizer and a "
                             "loss): fit_distributed() trains with them.")
        model.optimizer.build(model.trainable_variables)
    data = make_dataset(x, y, batch_size=batch_size, shuffle=shuffle, seed=seed, prefetch=True)
    dist = strategy.experimental_distribute_dataset(data)

    @tf.function
    def train_step(xb, yb):
        def replica_step(xb, yb):
            with tf.GradientTape() as tape:
                y_pred = model(xb, training=True)
                # Keras scales the loss for the replicas; the optimizer all-reduces the sum
                loss = model.compute_loss(x=xb, y=yb, y_pred=y_pred, training=True)
                # as Keras's own train step: under mixed_float16 the optimizer is a
                # LossScaleOptimizer, which divides the gradients by its scale (2^15 at
                # first), so they must be of the loss it scaled (else SGD barely moves)
                scaled = model.optimizer.scale_loss(loss)
            grads = tape.gradient(scaled, model.trainable_variables)
            model.optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        per_replica = strategy.run(replica_step, args=(xb, yb))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    history = {"loss": []}
    chief = _task_index() == 0
    for epoch in range(int(epochs)):
        total, batches = 0.0, 0
        for xb, yb in dist:
            total += float(train_step(xb, yb))
            batches += 1
        history["loss"].append(total / max(batches, 1))
        if verbose and chief:
            log.info(f"epoch {epoch + 1}/{epochs}: loss={history['loss'][-1]:.4f} "
                     f"({strategy.num_replicas_in_sync} replicas)")
    return {"model": model, "history": history, "strategy": strategy}
