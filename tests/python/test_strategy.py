"""Strategies, simulated devices, batch sizes, input pipelines and step fusion.

Logical devices can only be made before the backend starts, so multi-device checks run in a
fresh Python process each."""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

import kerascraft as kc

BACKEND = keras.config.backend()
tf_only = pytest.mark.skipif(BACKEND != "tensorflow", reason="tf.distribute is TensorFlow's")
# tf.data serves every backend, but the JAX job on the newest releases installs what a JAX
# user gets from pip (kerascraft[jax]): no TensorFlow
HAVE_TF = importlib.util.find_spec("tensorflow") is not None
needs_tf = pytest.mark.skipif(not HAVE_TF, reason="tf.data needs TensorFlow; none installed")
SRC = str(Path(__file__).resolve().parents[2] / "inst" / "python")


def run_fresh(code, env=None, timeout=900):
    """Run ``code`` in a fresh interpreter with this backend; return its stdout."""
    full_env = dict(os.environ, PYTHONPATH=SRC, KERAS_BACKEND=BACKEND, **(env or {}))
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout, env=full_env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


# data and a model that every training check below uses, each in a fresh process
DATA_AND_MODEL = """
import keras, numpy as np
rng = np.random.default_rng(0)
x = rng.random((512, 8)); y = (x.sum(1) > 4).astype("int32")   # float64, as from R
def build():
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                          keras.layers.Dense(2, activation="softmax")])
    m.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    return m
"""

# same weights on two simulated devices as on one, on the same global batches
SAME_WEIGHTS = """
import kerascraft as kc
print("devices", len(kc.simulate_devices(2)))
""" + DATA_AND_MODEL + """
import importlib.util
def fit(model, batch_size):
    if importlib.util.find_spec("tensorflow"):
        data = kc.make_dataset(x, y, batch_size=batch_size, shuffle=False)
        model.fit(data, epochs=3, verbose=0)
    else:  # a JAX-only environment: the same batches from arrays
        model.fit(kc.as_float32(x), y, batch_size=batch_size, shuffle=False, epochs=3, verbose=0)
one = build()
fit(one, 64)
strategy = kc.auto_strategy()
print("replicas", strategy.num_replicas_in_sync)
print("reason", strategy.reason)
with strategy.scope():
    two = build()
    kc.check_strategy(two, strategy) if keras.config.backend() == "tensorflow" else None
fit(two, kc.global_batch_size(32, strategy))
diff = max(float(np.abs(a - b).max()) for a, b in zip(one.get_weights(), two.get_weights()))
moved = max(float(np.abs(a - b).max()) for a, b in zip(build().get_weights(), two.get_weights()))
print("diff", diff, "moved", moved)
"""


def test_two_simulated_devices_train_to_the_same_weights_as_one():
    out = run_fresh(SAME_WEIGHTS)
    assert "devices 2" in out and "replicas 2" in out
    if BACKEND == "tensorflow":
        assert "reason 2 logical CPU devices (simulated): MirroredStrategy" in out
    else:
        assert "reason JAX: data parallel over 2 CPU devices" in out
    diff = float(out.split("diff ")[1].split()[0])
    moved = float(out.split("moved ")[1].split()[0])
    assert moved > 1e-2  # training did change the weights ...
    assert diff < 1e-5   # ... the same way on two devices as on one


def test_simulate_devices_too_late_says_what_to_do():
    out = run_fresh("""
        import kerascraft as kc, keras
        keras.ops.ones(3) + 1    # the backend has started
        try:
            kc.simulate_devices(4)
        except RuntimeError as err:
            print("ERR", err)
    """)
    assert "ERR simulate_devices(4) must run before" in out
    assert "fresh process" in out and "restart the session" in out


def test_one_device_is_said_and_has_a_scope():
    s = kc.auto_strategy()
    assert s.num_replicas_in_sync == 1
    assert "one CPU device" in s.reason
    with s.scope():
        pass


@tf_only
def test_a_model_built_outside_the_scope_gets_an_error_that_says_so():
    out = run_fresh("""
        import kerascraft as kc
        kc.simulate_devices(2)
        import keras
        s = kc.mirrored_strategy()
        def build():
            m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
            m.compile(optimizer="sgd", loss="mse")
            return m
        with s.scope():
            inside = build()
        kc.check_strategy(inside, s)
        outside = build()
        try:
            kc.check_strategy(outside, s)
        except ValueError as err:
            print("ERR", err)
        try:
            kc.mirrored_strategy(["/cpu:0", "/gpu:3"])
        except ValueError as err:
            print("ERR2", err)
        import numpy as np
        try:  # fit() itself says it, not Keras's bare AssertionError
            with s.scope():
                outside.fit(np.ones((8, 4)), np.ones((8, 2)), verbose=0)
        except ValueError as err:
            print("ERR3", err)
        with s.scope():
            inside.fit(np.ones((8, 4)), np.ones((8, 2)), verbose=0)
        print("inside fits")
    """)
    assert "ERR the model's variables" in out and "created outside this strategy's scope" in out
    assert "with(strategy$scope()" in out
    assert "ERR2 no device(s) ['/gpu:3']" in out
    assert "ERR3 the model's variables" in out and "inside fits" in out


@tf_only
def test_tf_config_and_multi_worker_strategy_reason():
    config = json.loads(kc.tf_config(2, 1))
    assert len(config["cluster"]["worker"]) == 2 and config["task"] == {"type": "worker", "index": 1}
    assert all(w.startswith("127.0.0.1:") for w in config["cluster"]["worker"])
    with pytest.raises(ValueError, match="index must be between 0 and 1"):
        kc.tf_config(["a:1", "b:2"], 2)
    with pytest.raises(RuntimeError, match="at least two workers"):
        kc.multi_worker_strategy()


@tf_only
def test_no_tpu_is_a_clear_error_within_the_time_limit():
    import time

    t = time.time()
    with pytest.raises(RuntimeError, match="no TPU found"):
        kc.tpu_strategy(timeout=5)
    assert time.time() - t < 30


def test_batch_size_and_learning_rate_scale_with_replicas():
    class Two:
        num_replicas_in_sync = 2

    assert kc.global_batch_size(64) == 64
    assert kc.global_batch_size(64, Two()) == 128
    assert kc.scaled_learning_rate(1e-3, Two()) == pytest.approx(2e-3)
    with pytest.raises(ValueError, match="at least 1"):
        kc.global_batch_size(0)


def test_without_tensorflow_the_pipelines_say_what_they_need():
    out = run_fresh("""
        import sys
        sys.modules["tensorflow"] = None   # as in a JAX-only environment
        import numpy as np, kerascraft as kc
        for call in (lambda: kc.make_dataset(np.ones((4, 2)), np.zeros(4)),
                     lambda: kc.read_tfrecords("nowhere")):
            try:
                call()
            except ImportError as err:
                print("ERR", err)
    """)
    assert out.count("ERR ") == 2
    assert "ERR make_dataset() builds a tf.data pipeline, which needs TensorFlow" in out
    assert "ERR read_tfrecords() builds" in out and "pip install tensorflow-cpu" in out


@needs_tf
def test_make_dataset_from_r_like_arrays():
    import tensorflow as tf

    x = np.asfortranarray(np.arange(40, dtype=np.float64).reshape(10, 4))  # an R matrix
    y = np.arange(10)
    ds = kc.make_dataset(x, y, batch_size=4, shuffle=False)
    batches = list(ds)
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    assert batches[0][0].dtype == tf.float32 and batches[0][1].dtype == tf.int64
    assert np.array_equal(np.concatenate([b[0] for b in batches]), x.astype(np.float32))
    assert ds.options().experimental_distribute.auto_shard_policy == tf.data.experimental.AutoShardPolicy.DATA
    shuffled = np.concatenate([b[1] for b in kc.make_dataset(x, y, batch_size=4, seed=1)])
    assert sorted(shuffled) == list(range(10)) and list(shuffled) != list(range(10))
    assert [len(b) for b in kc.make_dataset(x, batch_size=3, shuffle=False, drop_remainder=True)] == [3, 3, 3]
    with pytest.raises(ValueError, match="NaN"):
        kc.make_dataset(np.array([[1.0], [np.nan]]), np.array([0, 1]))
    with pytest.raises(ValueError, match="x has 10 samples but y has 9"):
        kc.make_dataset(x, y[:9])


@needs_tf
def test_tfrecords_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((25, 3, 2))
    y = rng.integers(0, 5, 25)
    files = kc.write_tfrecords(str(tmp_path / "data" / "train"), x, y, shards=3)
    assert len(files) == 3 and all(os.path.getsize(f) > 0 for f in files)
    back = list(kc.read_tfrecords(str(tmp_path / "data" / "train"), batch_size=25, shuffle=False))
    assert len(back) == 1
    xb, yb = back[0][0].numpy(), back[0][1].numpy()
    assert xb.shape == (25, 3, 2) and xb.dtype == np.float32
    order = np.lexsort(xb.reshape(25, -1).T)
    want = np.lexsort(x.astype(np.float32).reshape(25, -1).T)
    assert np.array_equal(xb[order], x.astype(np.float32)[want])
    assert np.array_equal(yb[order], y[want])
    with pytest.raises(FileNotFoundError, match="spec file"):
        kc.read_tfrecords(str(tmp_path / "nothing"))


def test_tune_steps_per_execution_picks_the_smallest_near_the_fastest():
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).random((256, 16))
    y = x.sum(axis=1)
    found = kc.tune_steps_per_execution(model, x, y, candidates=[1, 4, 8], steps=16, repeats=1)
    table = found["table"]
    assert [r["steps_per_execution"] for r in table] == [1, 4, 8]
    fastest = max(r["samples_per_second"] for r in table)
    eligible = [r["steps_per_execution"] for r in table if r["samples_per_second"] >= 0.95 * fastest]
    assert found["best"] == min(eligible)
    for row in table:  # each speed-up is its throughput over that of 1 step per call
        assert row["speedup"] == pytest.approx(row["samples_per_second"] /
                                               table[0]["samples_per_second"])
    assert model.get_compile_config()["steps_per_execution"] == 1  # the model is untouched
    uncompiled = keras.Sequential([keras.Input((16,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="compiled model"):
        kc.tune_steps_per_execution(uncompiled, x, y)


# one training script, run by each worker and by a single process
MULTI_WORKER = """
import os, sys
import kerascraft as kc
""" + DATA_AND_MODEL + """
out = kc.fit_distributed(build, x, y, epochs=3, batch_size=64, seed=1)
import tensorflow as tf
print("multi-worker", isinstance(out["strategy"], tf.distribute.MultiWorkerMirroredStrategy),
      out["strategy"].num_replicas_in_sync)
np.save(sys.argv[1], np.concatenate([w.ravel() for w in out["model"].get_weights()]))
"""


@tf_only
def test_fit_distributed_learns_under_every_precision_policy():
    # plain SGD, whose steps follow the gradients' size: under mixed_float16 Keras's
    # LossScaleOptimizer divides the gradients by its loss scale (2^15), so gradients of
    # the unscaled loss left the weights where they were (loss 11.414 -> 11.414)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 8)).astype("float32")
    y = (x @ rng.normal(size=8) + 0.1 * rng.normal(size=512)).astype("float32")

    def build():
        keras.utils.set_random_seed(0)
        m = keras.Sequential([keras.Input((8,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(1, dtype="float32")])
        m.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
        return m

    drop = {}
    for policy in ("float32", "mixed_float16", "mixed_bfloat16"):
        with kc.precision_scope(policy):
            out = kc.fit_distributed(build, x, y, epochs=3, batch_size=64, seed=0, verbose=0)
        loss = out["history"]["loss"]
        drop[policy] = loss[-1] / loss[0]
    assert drop["float32"] < 0.6, drop
    for policy in ("mixed_float16", "mixed_bfloat16"):  # about as far as in float32
        assert abs(drop[policy] - drop["float32"]) < 0.05, drop


@tf_only
def test_two_workers_on_localhost_train_to_identical_weights(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(MULTI_WORKER)
    workers = [f"127.0.0.1:{p}" for p in kc.free_ports(2)]
    env = dict(os.environ, PYTHONPATH=SRC, KERAS_BACKEND=BACKEND)
    procs = [subprocess.Popen([sys.executable, str(script), str(tmp_path / f"w{i}.npy")],
                              env=dict(env, TF_CONFIG=kc.tf_config(workers, i)),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    outs = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=900)
        finally:
            p.kill()
        assert p.returncode == 0, err[-3000:]
        outs.append(out)
    assert "multi-worker True 2" in outs[0] and "multi-worker True 2" in outs[1]
    assert "epoch 3/3: loss=" in outs[0] and "epoch" not in outs[1]  # only worker 0 reports
    single = subprocess.run([sys.executable, str(script), str(tmp_path / "single.npy")], env=env,
                            capture_output=True, text=True, timeout=900)
    assert single.returncode == 0, single.stderr[-3000:]
    w0, w1, w = (np.load(tmp_path / f) for f in ("w0.npy", "w1.npy", "single.npy"))
    assert np.array_equal(w0, w1)                        # the workers agree exactly ...
    assert np.abs(w0 - w).max() < 1e-5                   # ... and with one process on the same batches
    assert "multi-worker False 1" in single.stdout


def test_craft_uses_two_simulated_devices(tmp_path):
    # the search, the retraining and the final models under the strategy; the search's
    # saved models (rebuilt by KerasTuner after clear_session) outside its scope
    out = run_fresh(f"""
        import kerascraft as kc
        kc.simulate_devices(2)
        d = kc.load_dataset("wine", split=False)
        r = kc.craft(d["x"], d["y"], directory={str(tmp_path)!r}, max_trials=1, epochs=8,
                     top=1, gradient_boosting=False, cheap_models=False, verbose=0)
        print("strategy", r.setup["strategy"], r.setup["replicas"])
        print("accuracy", r.test_scores["accuracy"].iloc[0])
    """, timeout=1200)
    name = "MirroredStrategy" if BACKEND == "tensorflow" else "DataParallel"
    assert f"strategy {name} 2" in out
    # it learnt under the strategy: the largest class is 40% of wine (on one device: 0.94).
    # 8 epochs: two replicas take half the steps an epoch, and after 4 epochs (8 steps)
    # the accuracy turned on the initial weights (0.78 to 0.89 under JAX)
    assert float(out.split("accuracy ")[1].split()[0]) > 0.8
