"""KerasTuner's private names that kerascraft uses (KerasTuner 1.4.8 is what it is tested on)."""

from __future__ import annotations

from kerascraft.compat import missing

#: functions of ``keras_tuner.src``: module -> {name: why}
FUNCTIONS = {
    "keras_tuner.src.engine.hypermodel": {
        "get_hypermodel": "to wrap a build function as a HyperModel, as KerasTuner does",
    },
    "keras_tuner.src.engine.objective": {
        "create_objective": "to read a metric's direction the way KerasTuner reads it",
    },
    "keras_tuner.src.engine.tuner": {
        "maybe_compute_model_size": "to refuse oversized models as KerasTuner does",
    },
}
#: methods of ``keras_tuner.Tuner`` that kerascraft's tuners override: name -> why
TUNER_HOOKS = {
    "_try_build": "to check the built model and skip KerasTuner's second gc.collect()",
    "_build_hypermodel": "to check that the build function compiled its model",
}


def _function(module, name):
    import importlib

    return getattr(importlib.import_module(module), name)


def get_hypermodel(hypermodel):
    """A build function or HyperModel as a HyperModel (KerasTuner's own wrapper)."""
    return _function("keras_tuner.src.engine.hypermodel", "get_hypermodel")(hypermodel)


def create_objective(objective):
    """KerasTuner's Objective for a name, a tuple or an Objective (direction included)."""
    return _function("keras_tuner.src.engine.objective", "create_objective")(objective)


def model_size(model) -> int:
    """The number of parameters KerasTuner's ``max_model_size`` compares."""
    return _function("keras_tuner.src.engine.tuner", "maybe_compute_model_size")(model)


def check() -> list:
    """One line for each private name the installed KerasTuner lacks."""
    import importlib

    import keras_tuner as kt

    problems = []
    for module, names in FUNCTIONS.items():
        try:
            owner = importlib.import_module(module)
        except ImportError as err:
            problems.append(f"{module} cannot be imported ({err}): kerascraft uses "
                            f"{', '.join(names)} from it.")
            continue
        problems += missing(owner, names, module, "keras_tuner")
    problems += missing(kt.Tuner, TUNER_HOOKS, "keras_tuner.Tuner", "keras_tuner")
    return problems
