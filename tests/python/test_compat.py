"""The seam: every private name kerascraft uses still exists in the installed releases, and
a name that is gone is reported by name, with why kerascraft needs it."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import keras
import pytest

from kerascraft import compat
from kerascraft.compat import jax as compat_jax
from kerascraft.compat import keras as compat_keras
from kerascraft.compat import keras_tuner as compat_kt
from kerascraft.compat import optuna as compat_optuna
from kerascraft.compat import tensorflow as compat_tf

ROOT = Path(__file__).resolve().parents[2]
installed = {lib for lib in compat.LIBRARIES.values() if importlib.util.find_spec(lib)}


@pytest.mark.parametrize("library", sorted(compat.LIBRARIES.values()))
def test_the_installed_release_has_every_private_name_kerascraft_uses(library):
    if library not in installed:
        pytest.skip(f"{library} is not installed here")
    problems = compat.check_all()[library]
    assert problems == [], "\n".join(problems)


def test_no_module_outside_the_seam_reaches_a_private_name():
    private = ("keras_tuner.src", "kt.src", "keras.src", "jax._src", "tensorflow.python",
               "_gradient_registry", "_symbolic_build", "_flatten_layers", "xla_bridge")
    core = ROOT / "inst" / "python" / "kerascraft"
    offenders = [f"{path.name}:{n}: {line.strip()}"
                 for path in core.glob("*.py")
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if any(name in line for name in private)]
    assert offenders == []


def _remove(monkeypatch, cls, name):
    """Remove ``name`` from ``cls`` and the base class that defines it, for this test."""
    owner = next(c for c in cls.__mro__ if name in vars(c))
    monkeypatch.delattr(owner, name)


def test_a_name_that_is_gone_is_named_with_its_use(monkeypatch):
    _remove(monkeypatch, keras.Model, "_flatten_layers")
    problems = compat_keras.check()
    assert len(problems) == 1
    assert problems[0].startswith(f"keras.Model._flatten_layers is gone in keras {keras.__version__}: "
                                  "kerascraft uses it to find every layer of nested models")
    import keras_tuner as kt

    _remove(monkeypatch, kt.Tuner, "_try_build")
    assert any(p.startswith("keras_tuner.Tuner._try_build is gone") for p in compat_kt.check())


@pytest.mark.skipif(keras.config.backend() != "tensorflow", reason="TensorFlow's trainer")
def test_a_tensorflow_trainer_name_that_is_gone_is_reported(monkeypatch):
    _remove(monkeypatch, keras.Model, "_symbolic_build")
    (problem,) = compat_keras.check()
    assert problem.startswith("keras.Model._symbolic_build is gone in keras")


@pytest.mark.skipif("tensorflow" not in installed, reason="TensorFlow is not installed here")
def test_a_tensorflow_registry_that_is_gone_is_reported(monkeypatch):
    import tensorflow.python.framework.ops as ops

    monkeypatch.setattr(ops, "_gradient_registry", object())
    (problem,) = compat_tf.check()
    assert "tensorflow.python.framework.ops._gradient_registry._registry is gone" in problem
    assert compat_tf.custom_gradient_names() is None   # the seam then does nothing


@pytest.mark.skipif("jax" not in installed, reason="JAX is not installed here")
def test_a_jax_function_that_is_gone_is_reported(monkeypatch):
    from jax._src import xla_bridge

    monkeypatch.delattr(xla_bridge, "backends_are_initialized")
    (problem,) = compat_jax.check()
    assert problem.startswith("jax._src.xla_bridge.backends_are_initialized is gone in jax ")


def test_an_optuna_rung_key_that_is_gone_is_reported(monkeypatch):
    from optuna.pruners import _successive_halving

    assert compat_optuna.rung_attributes([0.5, 0.25]) == {
        _successive_halving._completed_rung_key(0): 0.5,
        _successive_halving._completed_rung_key(1): 0.25}
    monkeypatch.delattr(_successive_halving, "_completed_rung_key")
    (problem,) = compat_optuna.check()
    assert problem.startswith("optuna.pruners._successive_halving._completed_rung_key is gone "
                              "in optuna ")


def test_the_check_command_prints_what_is_gone():
    code = ("import keras, sys\n"
            "owner = next(c for c in keras.Model.__mro__ if '_flatten_layers' in vars(c))\n"
            "delattr(owner, '_flatten_layers')\n"
            "from kerascraft.cli import main\n"
            "sys.exit(main(['check']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT / "inst" / "python"),
                               "KERAS_BACKEND": keras.config.backend(), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "PRIVATE NAME: keras.Model._flatten_layers is gone in keras" in proc.stdout
