"""The seam: every private name kerascraft uses still exists in the installed releases, and
a name that is gone is reported by name, with why kerascraft needs it."""

import ast
import importlib.util
import subprocess
import sys
import textwrap
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


#: the libraries whose private names only the seam (kerascraft/compat) may use
LIBRARIES = ("keras", "keras_tuner", "tensorflow", "optuna", "jax")
CORE = ROOT / "inst" / "python" / "kerascraft"
#: names that start with an underscore but are documented, public functions
PUBLIC = {"_exit"}  # os._exit


def _private(name) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _defined_names(tree) -> set:
    """The names a module defines: functions, classes, arguments, variables, attributes it
    assigns (``self._x = ...``)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
    return names


def _library_private_names() -> set:
    """Private names of the library classes kerascraft's own classes extend (methods and
    class attributes, and the attributes their code assigns to ``self``): defining one of
    these in kerascraft overrides or overwrites a library's internals."""
    import importlib
    import inspect

    names = set()
    for path in CORE.rglob("*.py"):
        module = ".".join(path.relative_to(CORE.parent).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        if module.endswith("__main__"):  # runs the command line
            continue
        try:
            loaded = importlib.import_module(module)
        except ImportError:  # a backend this job does not have (tensorflow on the JAX job)
            continue
        for _, cls in inspect.getmembers(loaded, inspect.isclass):
            for base in cls.__mro__:
                if base.__module__.split(".")[0] not in LIBRARIES:
                    continue
                names |= {n for n in vars(base) if _private(n)}
                try:
                    tree = ast.parse(textwrap.dedent(inspect.getsource(base)))
                except (OSError, TypeError, SyntaxError):
                    continue
                names |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)
                          and isinstance(n.ctx, ast.Store) and _private(n.attr)}
    return names


def _offences(path, own, theirs) -> list:
    tree = ast.parse(path.read_text())
    found = []

    def say(node, what):
        found.append(f"{path.relative_to(CORE)}:{node.lineno}: {what}")

    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) \
                else [node.module or ""]
            for module in modules:
                parts = module.split(".")
                if parts[0] in LIBRARIES and (any(_private(p) or p == "src" for p in parts)
                                              or parts[:2] == ["tensorflow", "python"]):
                    say(node, f"imports {module}")
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in \
                    LIBRARIES and any(_private(a.name) for a in node.names):
                say(node, f"imports a private name from {node.module}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if any(f"{lib}{sep}" in node.value for lib in LIBRARIES for sep in (".src", "._")) \
                    or "tensorflow.python" in node.value:
                say(node, f"names {node.value!r}")
        elif isinstance(node, ast.Attribute) and _private(node.attr) and node.attr not in PUBLIC:
            if node.attr not in own:
                say(node, f"reads another library's private .{node.attr}")
            elif node.attr in theirs:
                say(node, f"uses .{node.attr}, private in a library class kerascraft extends")
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) in (
                "getattr", "hasattr", "setattr", "delattr") and len(node.args) > 1 and \
                isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str) \
                and _private(node.args[1].value) and (node.args[1].value not in own
                                                      or node.args[1].value in theirs):
            say(node, f"{node.func.id}(..., {node.args[1].value!r})")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in theirs:
            say(node, f"defines {node.name}(), private in a library class kerascraft extends")
    return found


def test_no_module_outside_the_seam_reaches_a_private_name():
    # every module, sub-packages (ensemble/, workflow/) included; any private name of
    # Keras, KerasTuner, TensorFlow, Optuna and JAX: in an import, a string, an attribute
    # read or set, getattr(), or an override of a library class's private method
    modules = [p for p in CORE.rglob("*.py") if "compat" not in p.relative_to(CORE).parts]
    assert {"ensemble", "workflow"} <= {p.parent.name for p in modules}
    own = set().union(*(_defined_names(ast.parse(p.read_text())) for p in modules))
    theirs = _library_private_names()
    assert "_try_build" in theirs and "_tried_so_far" in theirs  # KerasTuner's, seen
    offenders = [o for p in modules for o in _offences(p, own, theirs)]
    assert offenders == []


def test_the_scan_finds_what_it_is_for(tmp_path):
    own = {"_mine", "_try_build"}
    theirs = {"_try_build"}
    code = tmp_path / "probe.py"
    code.write_text(textwrap.dedent("""
        from keras.src import ops
        import jax._src.xla_bridge
        from optuna.pruners import _successive_halving
        x = tensor._keras_history
        y = getattr(model, "_flatten_layers", None)
        z = self._mine
        class T:
            def _try_build(self, hp):
                return super()._try_build(hp)
        mod = "keras_tuner.src.engine.tuner"
    """))
    global CORE
    saved, CORE = CORE, tmp_path
    try:
        found = [line.split(": ", 1)[1] for line in _offences(code, own, theirs)]
    finally:
        CORE = saved
    assert sorted(found) == sorted([
        "imports keras.src", "imports jax._src.xla_bridge",
        "imports a private name from optuna.pruners", "reads another library's private ._keras_history",
        "getattr(..., '_flatten_layers')", "defines _try_build(), private in a library class "
        "kerascraft extends", "uses ._try_build, private in a library class kerascraft extends",
        "names 'keras_tuner.src.engine.tuner'"])


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
