"""The seam between kerascraft and the private parts of the libraries it builds on.

Every name kerascraft reaches that a library does not promise to keep -- KerasTuner's
``keras_tuner.src``, Keras's ``Model._symbolic_build``, TensorFlow's gradient registry,
JAX's ``xla_bridge``, Optuna's successive-halving rung keys -- is used here and only here, one module per library. Each module
lists what it needs in ``NEEDS`` (name -> why) and has ``check()``, which returns one line
per name the installed release no longer has. ``python -m kerascraft check`` prints them,
and ``tests/python/test_compat.py`` fails with them, so a new release that breaks
kerascraft names the name at once instead of failing somewhere inside a search.

Nothing here is imported at ``import kerascraft``: each module imports its library when
first used, so a JAX-only environment never loads TensorFlow.
"""

from __future__ import annotations

import importlib
import importlib.util

#: the library each seam module covers (module here -> importable name)
LIBRARIES = {"keras_tuner": "keras_tuner", "keras": "keras", "tensorflow": "tensorflow",
             "jax": "jax", "optuna": "optuna"}


def check_all() -> dict:
    """``{library: [problem, ...]}`` for every covered library that is installed."""
    problems = {}
    for module, library in LIBRARIES.items():
        if importlib.util.find_spec(library) is None:
            continue
        seam = importlib.import_module(f"{__name__}.{module}")
        problems[library] = seam.check()
    return problems


def missing(owner, names: dict, where: str, library: str) -> list:
    """Problems for the attributes of ``owner`` named in ``names`` (name -> why) it lacks."""
    import importlib.metadata

    try:
        version = importlib.metadata.version(library.replace("_", "-"))
    except importlib.metadata.PackageNotFoundError:
        version = "?"
    return [f"{where}.{name} is gone in {library} {version}: kerascraft uses it {why}. "
            "Install the release in kerascraft's pins (inst/python/requirements*.txt) or "
            "report it."
            for name, why in names.items() if not hasattr(owner, name)]
