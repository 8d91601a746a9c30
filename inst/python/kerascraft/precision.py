"""Mixed precision chosen for the hardware, with float32 where it matters.

Backend-neutral (TensorFlow, JAX or PyTorch under Keras 3): nothing here imports
TensorFlow unless Keras runs on it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import statistics
import time

from kerascraft.compat import keras as compat_keras
from kerascraft.errors import InputError

log = logging.getLogger(__name__)

#: the policies kerascraft sets; "auto" picks one of them by hardware
POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")
_HALF = ("float16", "bfloat16")


@dataclasses.dataclass
class PrecisionChoice:
    """What :func:`use_mixed_precision` set, why, and the hardware it looked at."""

    policy: str
    reason: str
    hardware: dict

    def __str__(self):
        return f"{self.policy}: {self.reason}"


def _cpu_flags() -> set:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def _accelerator(backend: str) -> dict:
    """The first accelerator the Keras backend sees: kind, name, compute capability."""
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        if device.platform in ("gpu", "cuda", "rocm"):
            cc = getattr(device, "compute_capability", None)
            return {"accelerator": "gpu", "device": device.device_kind,
                    "compute_capability": float(cc) if cc else None,
                    "count": len(jax.devices())}
        if device.platform == "tpu":
            return {"accelerator": "tpu", "device": device.device_kind,
                    "count": len(jax.devices())}
    elif backend == "tensorflow":
        import tensorflow as tf

        if tf.config.list_logical_devices("TPU"):
            return {"accelerator": "tpu", "device": "TPU",
                    "count": len(tf.config.list_logical_devices("TPU"))}
        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            details = tf.config.experimental.get_device_details(gpus[0])
            cc = details.get("compute_capability")
            return {"accelerator": "gpu", "device": details.get("device_name", "GPU"),
                    "compute_capability": float(f"{cc[0]}.{cc[1]}") if cc else None,
                    "count": len(gpus)}
    elif backend == "torch":
        import torch

        if torch.cuda.is_available():
            major, minor = torch.cuda.get_device_capability(0)
            return {"accelerator": "gpu", "device": torch.cuda.get_device_name(0),
                    "compute_capability": float(f"{major}.{minor}"),
                    "count": torch.cuda.device_count()}
    return {"accelerator": "cpu", "device": _cpu_name(), "count": 1}


def detect_hardware() -> dict:
    """What the precision decision depends on.

    Returns:
        dict with ``backend`` (Keras backend), ``accelerator`` (``"tpu"``, ``"gpu"`` or
        ``"cpu"``), ``device`` (name), ``compute_capability`` (GPUs), ``count``, and
        ``cpu_bf16`` (the CPU has AVX512_BF16 or AMX-BF16 instructions).
    """
    import keras

    backend = keras.backend.backend()
    flags = _cpu_flags()
    hw = {"backend": backend, "compute_capability": None,
          "cpu_bf16": bool({"avx512_bf16", "amx_bf16"} & flags)}
    hw.update(_accelerator(backend))
    return hw


def choose_policy(hardware: dict) -> tuple[str, str]:
    """The dtype policy for ``hardware`` (as :func:`detect_hardware` returns it), and why.

    bfloat16 on TPUs and NVIDIA GPUs of compute capability 8.0 or newer; float16 on GPUs
    with tensor cores before that (7.x; Keras then scales the loss); float32 on older GPUs.
    On CPUs bfloat16 only where it was measured faster: TensorFlow (oneDNN) on a CPU with
    AVX512_BF16/AMX (see BENCHMARKS.md); XLA's CPU backend (JAX) is not faster in bfloat16.
    """
    kind = hardware.get("accelerator", "cpu")
    if kind == "tpu":
        return "mixed_bfloat16", "TPUs compute natively in bfloat16 (float32 variables kept)"
    if kind == "gpu":
        cc = hardware.get("compute_capability")
        name = hardware.get("device", "GPU")
        if cc is None:
            return "float32", f"{name}: compute capability unknown, so staying in float32"
        if cc >= 8.0:
            return "mixed_bfloat16", (
                f"{name} (compute capability {cc:g}) has bfloat16 tensor cores; bfloat16 keeps "
                "float32's range, so no loss scaling is needed")
        if cc >= 7.0:
            return "mixed_float16", (
                f"{name} (compute capability {cc:g}) has float16 tensor cores but no bfloat16; "
                "Keras scales the loss of compiled models to keep gradients from underflowing")
        return "float32", (
            f"{name} (compute capability {cc:g}) has no tensor cores: mixed precision would not "
            "be faster")
    if hardware.get("cpu_bf16") and hardware.get("backend") == "tensorflow":
        return "mixed_bfloat16", (
            "CPU with AVX512_BF16/AMX: TensorFlow's oneDNN kernels train faster in bfloat16")
    if hardware.get("cpu_bf16"):
        return "float32", (
            f"CPU with bfloat16 instructions, but the {hardware.get('backend')} backend does not "
            "train faster in bfloat16 on CPU: staying in float32")
    return "float32", "CPU without bfloat16 instructions: mixed precision would be slower"


def resolve_policy(policy: str) -> PrecisionChoice:
    """The policy ``policy`` names (``"auto"``: the one for this hardware) with its reason;
    an unknown name is refused."""
    hardware = detect_hardware()
    if policy == "auto":
        chosen, reason = choose_policy(hardware)
        return PrecisionChoice(chosen, reason, hardware)
    if policy not in POLICIES:
        raise InputError(f"unknown precision policy {policy!r}; use 'auto' or one of: "
                         f"{', '.join(POLICIES)}.")
    auto, _ = choose_policy(hardware)
    note = "" if auto == policy else f" ('auto' would choose {auto} here)"
    return PrecisionChoice(policy, f"asked for{note}", hardware)


def use_mixed_precision(policy: str = "auto") -> PrecisionChoice:
    """Set Keras's global dtype policy, chosen for the hardware or as given.

    Args:
        policy: ``"auto"`` (see :func:`choose_policy`), ``"mixed_bfloat16"``,
            ``"mixed_float16"`` or ``"float32"``.

    Returns:
        A :class:`PrecisionChoice`: the policy set, the reason, the hardware seen.
        Models built afterwards use the policy; build them after this call.
    """
    import keras

    choice = resolve_policy(policy)
    keras.config.set_dtype_policy(choice.policy)
    return choice


@contextlib.contextmanager
def precision_scope(policy: str = "auto"):
    """Use ``policy`` inside a ``with`` block; the previous policy comes back on exit,
    also when the block raises. Yields the :class:`PrecisionChoice`."""
    import keras

    previous = keras.config.dtype_policy()
    try:
        yield use_mixed_precision(policy)
    finally:
        keras.config.set_dtype_policy(previous)


def output_layers(units: int, activation: str = "softmax", name: str | None = None):
    """The output of a mixed-precision classifier as the Keras guides advise: a Dense
    layer (computing in the policy's dtype) and the activation computed in float32.

    Returns:
        ``[Dense(units), Activation(activation, dtype="float32")]``; put them at the end of
        a ``Sequential`` or apply them in turn in the functional API.
    """
    import keras

    return [keras.layers.Dense(units, name=f"{name}_dense" if name else None),
            keras.layers.Activation(activation, dtype="float32", name=name)]


def _activation_name(layer) -> str | None:
    cls = type(layer).__name__
    if cls == "Softmax":
        return "softmax"
    act = getattr(layer, "activation", None)
    if act is None:
        return None
    name = getattr(act, "__name__", None) or str(act)
    return name if name in ("softmax", "sigmoid") else None


def _output_layer_list(model):
    """The layers that give a model's outputs: a functional model names them
    (``output_names``); otherwise its last layer."""
    layers = []
    for name in getattr(model, "output_names", None) or []:
        layer = model.get_layer(name)
        if layer not in layers:
            layers.append(layer)
    if not layers and getattr(model, "layers", None):
        layers = [model.layers[-1]]
    return layers


def _dtype_of(x):
    if isinstance(x, dict):
        return {k: _dtype_of(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_dtype_of(v) for v in x]
    return getattr(x, "dtype", None)


def check_precision(model, x=None) -> list[dict]:
    """What will hurt ``model`` under mixed precision, each with its fix.

    Checks: softmax/sigmoid outputs computed in float16/bfloat16; layers with weights
    whose variables are not float32; float64 inputs (declared, or in ``x``); float16
    training without loss scaling (an uncompiled model, i.e. a custom training loop, or
    ``compile(auto_scale_loss=False)``).

    Args:
        model: a built Keras model.
        x: optionally the data it will be trained on.

    Returns:
        A list of ``{"layer", "problem", "fix"}`` dicts; empty when nothing was found.
    """
    layers = compat_keras.all_layers(model)
    return (_variable_findings(layers) + _output_findings(model) + _input_findings(model, x)
            + _loss_scaling_findings(model, layers))


def _variable_findings(layers) -> list[dict]:
    findings = []
    for layer in layers:
        if layer.weights and layer.variable_dtype != "float32" and layer.compute_dtype in _HALF:
            findings.append({
                "layer": layer.name,
                "problem": f"variables are {layer.variable_dtype}, not float32: small weight "
                           "updates are lost",
                "fix": f"use the mixed_{layer.compute_dtype} policy (float32 variables, "
                       f"{layer.compute_dtype} compute) instead of {layer.dtype_policy.name}",
            })
    return findings


def _output_findings(model) -> list[dict]:
    findings = []
    for layer in _output_layer_list(model):
        act = _activation_name(layer)
        if act and layer.compute_dtype in _HALF:
            findings.append({
                "layer": layer.name,
                "problem": f"output {act} is computed in {layer.compute_dtype}: probabilities "
                           "round to 0 or 1 and the loss can become inf or NaN",
                "fix": f"compute it in float32: pass dtype='float32' to this layer, or end the "
                       f"model with keras.layers.Activation('{act}', dtype='float32') "
                       "(output_layers() builds that)",
            })
    return findings


def _input_findings(model, x) -> list[dict]:
    findings = []
    for tensor in getattr(model, "inputs", None) or []:
        if str(getattr(tensor, "dtype", "")) == "float64":
            findings.append({
                "layer": getattr(tensor, "name", "input"),
                "problem": "input is declared float64: every batch is computed or cast from "
                           "double precision",
                "fix": "declare it float32: keras.Input(shape, dtype='float32')",
            })
    if x is not None:
        dtypes = _dtype_of(x)
        flat = dtypes.values() if isinstance(dtypes, dict) else (
            dtypes if isinstance(dtypes, list) else [dtypes])
        if any(str(d) == "float64" for d in flat):
            findings.append({
                "layer": "(data)",
                "problem": "the data is float64 (R numbers are doubles): it is converted on "
                           "every batch, or computed in float64",
                "fix": "convert it once with as_float32(x) (kerascraft's search() does it "
                       "for you)",
            })
    return findings


def _loss_scaling_findings(model, layers) -> list[dict]:
    import keras

    findings = []
    if any(layer.compute_dtype == "float16" for layer in layers):
        optimizer = getattr(model, "optimizer", None)
        if optimizer is None:
            findings.append({
                "layer": "(training)",
                "problem": "float16 compute and no compiled optimizer: a custom training loop "
                           "without loss scaling lets small gradients underflow to zero",
                "fix": "compile() the model (Keras then scales the loss), or wrap the "
                       "optimizer in keras.optimizers.LossScaleOptimizer and use its "
                       "scale_loss() in your loop",
            })
        elif not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            findings.append({
                "layer": "(training)",
                "problem": "float16 compute but the optimizer does not scale the loss "
                           "(compiled with auto_scale_loss=False?): small gradients underflow",
                "fix": "compile with auto_scale_loss=True (the default), or wrap the "
                       "optimizer in keras.optimizers.LossScaleOptimizer",
            })
    return findings


def _median_runs(runs, key):
    return statistics.median(r[key] for r in runs)


def benchmark_precision(build_fn, data, policies=("float32", "mixed_bfloat16"), epochs=2,
                        batch_size=128, repeats=3, verbose=0):
    """Training throughput per dtype policy, measured side by side in one process.

    Each repeat builds and trains a fresh model under every policy, in an order that
    rotates between repeats so that no policy always runs first. One warm-up epoch per
    model (compilation, autotuning) is not timed.

    Args:
        build_fn: a function with no arguments returning a compiled Keras model; it is
            called inside :func:`precision_scope`, so its layers take the policy.
        data: ``(x, y)`` in memory.
        policies: the policies to compare; the first is the baseline of the ratios.
        epochs: timed epochs per run.
        batch_size: batch size.
        repeats: runs per policy; the median is reported.

    Returns:
        dict with ``runs`` (one dict per run: policy, repeat, seconds, samples_per_second)
        and ``summary`` (per policy: median samples/s, ratio to the baseline, repeats,
        final loss of the last run).
    """
    import keras

    from kerascraft.data import prepare_fit_data

    x, y, _ = prepare_fit_data(*data)
    n = len(x)
    policies = list(policies)
    runs = []
    for repeat in range(repeats):
        order = policies[repeat % len(policies):] + policies[:repeat % len(policies)]
        for policy in order:
            with precision_scope(policy):
                keras.utils.set_random_seed(repeat)
                model = build_fn()
                model.fit(x, y, epochs=1, batch_size=batch_size, verbose=0)  # warm-up
                start = time.perf_counter()
                history = model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0)
                seconds = time.perf_counter() - start
            loss = float(history.history["loss"][-1])
            runs.append({"policy": policy, "repeat": repeat, "seconds": seconds,
                         "samples_per_second": epochs * n / seconds, "loss": loss})
            if verbose:
                log.info(f"repeat {repeat + 1}/{repeats} {policy:15s} "
                         f"{epochs * n / seconds:10.0f} samples/s  loss {loss:.4f}")
    base = _median_runs([r for r in runs if r["policy"] == policies[0]], "samples_per_second")
    summary = []
    for policy in policies:
        mine = [r for r in runs if r["policy"] == policy]
        median = _median_runs(mine, "samples_per_second")
        summary.append({"policy": policy, "samples_per_second": median,
                        "ratio": median / base, "repeats": len(mine),
                        "final_loss": mine[-1]["loss"]})
    return {"runs": runs, "summary": summary}
