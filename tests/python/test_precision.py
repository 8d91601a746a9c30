import keras
import numpy as np
import pytest

import kerascraft as kc
from kerascraft.precision import choose_policy


@pytest.fixture(autouse=True)
def _float32_after_each_test():
    yield
    keras.config.set_dtype_policy("float32")


@pytest.mark.parametrize("hardware, policy, why", [
    ({"accelerator": "tpu"}, "mixed_bfloat16", "TPUs compute natively in bfloat16"),
    ({"accelerator": "gpu", "compute_capability": 9.0, "device": "NVIDIA H100"}, "mixed_bfloat16",
     "NVIDIA H100 (compute capability 9) has bfloat16 tensor cores"),
    ({"accelerator": "gpu", "compute_capability": 8.0, "device": "NVIDIA A100"}, "mixed_bfloat16",
     "NVIDIA A100 (compute capability 8) has bfloat16 tensor cores"),
    ({"accelerator": "gpu", "compute_capability": 7.5, "device": "Tesla T4"}, "mixed_float16",
     "Tesla T4 (compute capability 7.5) has float16 tensor cores but no bfloat16; Keras scales "
     "the loss"),
    ({"accelerator": "gpu", "compute_capability": 7.0, "device": "Tesla V100"}, "mixed_float16",
     "Tesla V100 (compute capability 7) has float16 tensor cores but no bfloat16"),
    ({"accelerator": "gpu", "compute_capability": 6.1, "device": "GTX 1080"}, "float32",
     "GTX 1080 (compute capability 6.1) has no tensor cores"),
    ({"accelerator": "cpu", "cpu_bf16": True, "backend": "tensorflow"}, "mixed_bfloat16",
     "CPU with AVX512_BF16/AMX: TensorFlow's oneDNN kernels train faster in bfloat16"),
    ({"accelerator": "cpu", "cpu_bf16": True, "backend": "jax"}, "float32",
     "the jax backend does not train faster in bfloat16 on CPU"),
    ({"accelerator": "cpu", "cpu_bf16": False, "backend": "tensorflow"}, "float32",
     "CPU without bfloat16 instructions"),
])
def test_auto_picks_by_hardware(hardware, policy, why):
    chosen, reason = choose_policy(hardware)
    assert chosen == policy
    assert why in reason  # the reason names the hardware fact that decided


def test_use_mixed_precision_sets_the_global_policy_and_says_why():
    choice = kc.use_mixed_precision("mixed_bfloat16")
    assert keras.config.dtype_policy().name == "mixed_bfloat16"
    assert choice.policy == "mixed_bfloat16" and choice.hardware["accelerator"] == "cpu"
    layer = keras.layers.Dense(2)
    assert layer.compute_dtype == "bfloat16" and layer.variable_dtype == "float32"
    auto = kc.use_mixed_precision("auto")
    assert keras.config.dtype_policy().name == auto.policy
    assert auto.policy == choose_policy(kc.detect_hardware())[0]
    with pytest.raises(ValueError, match="unknown precision policy 'float8'; use 'auto' or one of"):
        kc.use_mixed_precision("float8")


def test_precision_scope_restores_the_policy_also_on_error():
    keras.config.set_dtype_policy("float32")
    with kc.precision_scope("mixed_float16") as choice:
        assert choice.policy == "mixed_float16"
        assert keras.layers.Dense(1).compute_dtype == "float16"
    assert keras.config.dtype_policy().name == "float32"
    with pytest.raises(RuntimeError, match="inside"):
        with kc.precision_scope("mixed_bfloat16"):
            raise RuntimeError("failure inside the block")
    assert keras.config.dtype_policy().name == "float32"


def _classifier(output):
    return keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"), *output])


def test_check_precision_finds_a_half_precision_softmax_and_output_layers_fixes_it():
    with kc.precision_scope("mixed_bfloat16"):
        bad = _classifier([keras.layers.Dense(3, activation="softmax", name="probs")])
        good = _classifier(kc.output_layers(3, "softmax", name="probs"))
    findings = kc.check_precision(bad)
    assert [f["layer"] for f in findings] == ["probs"]
    assert "softmax is computed in bfloat16" in findings[0]["problem"]
    assert "dtype='float32'" in findings[0]["fix"]
    assert kc.check_precision(good) == []
    assert good.layers[-1].compute_dtype == "float32"
    assert good.layers[-2].compute_dtype == "bfloat16"


def test_check_precision_finds_half_variables_float64_data_and_missing_loss_scaling():
    with kc.precision_scope("mixed_float16"):
        model = _classifier(kc.output_layers(2))
        model.layers[0].dtype_policy = keras.DTypePolicy("float16")  # variables in float16
    x64 = np.zeros((4, 8))
    problems = {(f["layer"], f["problem"].split(":")[0]) for f in kc.check_precision(model, x64)}
    assert (model.layers[0].name, "variables are float16, not float32") in problems
    assert ("(data)", "the data is float64 (R numbers are doubles)") in problems
    assert any(layer == "(training)" for layer, _ in problems)  # not compiled: custom loop
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert not any(f["layer"] == "(training)" for f in kc.check_precision(model))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", auto_scale_loss=False)
    assert any("does not scale the loss" in f["problem"] for f in kc.check_precision(model))


def test_check_precision_finds_a_float64_input():
    model = keras.Sequential([keras.Input((3,), dtype="float64"), keras.layers.Dense(1)])
    assert any("declared float64" in f["problem"] for f in kc.check_precision(model))


def _update_size(auto_scale_loss):
    """Largest weight change of one SGD step on a loss too small for float16 gradients."""

    def tiny_mse(y_true, y_pred):
        y_pred = keras.ops.cast(y_pred, "float32")
        return 1e-9 * keras.ops.mean(keras.ops.square(y_true - y_pred))

    with kc.precision_scope("mixed_float16"):
        model = keras.Sequential([keras.Input((4,)),
                                  keras.layers.Dense(1, kernel_initializer="zeros", use_bias=False)])
        model.compile(optimizer=keras.optimizers.SGD(1.0), loss=tiny_mse,
                      auto_scale_loss=auto_scale_loss)
        before = model.get_weights()[0].copy()
        model.train_on_batch(np.ones((8, 4), np.float32), np.ones((8, 1), np.float32))
        after = model.get_weights()[0]
    return model, float(np.abs(after - before).max())


def test_loss_scaling_keeps_float16_gradients_that_would_underflow():
    scaled_model, scaled = _update_size(auto_scale_loss=True)
    assert isinstance(scaled_model.optimizer, keras.optimizers.LossScaleOptimizer)
    _, plain = _update_size(auto_scale_loss=False)
    assert plain == 0.0                      # float16 gradient of ~2e-9 underflows to zero
    assert np.isfinite(scaled) and scaled == pytest.approx(2e-9, rel=0.05)


def test_benchmark_precision_returns_runs_and_ratios():
    built_in = []

    def build():
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4), *kc.output_layers(2)])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        built_in.append(model.layers[0].compute_dtype)
        return model

    x = np.random.default_rng(0).normal(size=(64, 8))
    y = np.arange(64) % 2
    out = kc.benchmark_precision(build, (x, y), policies=("float32", "mixed_bfloat16"),
                                 epochs=1, batch_size=32, repeats=2)
    assert [r["policy"] for r in out["runs"]] == ["float32", "mixed_bfloat16",
                                                  "mixed_bfloat16", "float32"]
    # each run built its model in the policy it names
    assert built_in == ["float32", "bfloat16", "bfloat16", "float32"]
    summary = {s["policy"]: s for s in out["summary"]}
    speed = {p: np.median([r["samples_per_second"] for r in out["runs"] if r["policy"] == p])
             for p in summary}
    assert summary["mixed_bfloat16"]["ratio"] == pytest.approx(
        speed["mixed_bfloat16"] / speed["float32"])
    for policy, s in summary.items():
        assert s["final_loss"] == [r["loss"] for r in out["runs"] if r["policy"] == policy][-1]
    assert keras.config.dtype_policy().name == "float32"


def test_every_trial_of_a_search_builds_in_the_policy_set_before_it(tmp_path, digits):
    # keras.backend.clear_session(), which KerasTuner runs before each trial, resets the
    # global dtype policy: without care only the first trial would be mixed precision
    policies = []

    def build(hp):
        model = keras.Sequential([keras.Input((64,)),
                                  keras.layers.Dense(hp.Int("units", 8, 32, step=8)),
                                  *kc.output_layers(10)])
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        policies.append(model.layers[0].dtype_policy.name)
        return model

    with kc.precision_scope("mixed_bfloat16"):
        t = kc.tuner("random", build, objective="val_accuracy", max_trials=3,
                     directory=str(tmp_path), seed=0)
        t.search(digits["x_train"][:200], digits["y_train"][:200], epochs=1, verbose=0,
                 validation_data=(digits["x_val"][:50], digits["y_val"][:50]))
    assert len(policies) >= 3 and set(policies) == {"mixed_bfloat16"}
    assert keras.config.dtype_policy().name == "float32"  # restored after the scope
