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
}
#: methods of ``keras_tuner.Tuner`` that kerascraft's tuners wrap (:class:`BuildHooks`):
#: name -> why
TUNER_HOOKS = {
    "_try_build": "to keep the dtype policy and distribution across the clear_session() "
                  "it runs, and to prepare the model it accepted for training",
    "_build_hypermodel": "to check the build function's model (a compiled Keras model "
                         "whose outputs fit the labels) before KerasTuner's own checks",
}


class BuildHooks:
    """KerasTuner's private build steps, wrapped, not copied: each runs KerasTuner's own and
    calls the tuner's public hooks around it (kerascraft's tuners define them):

    - ``kc_before_clear()``, then KerasTuner's ``_try_build`` (clear the session, collect
      garbage, build, refuse what is not a model or too large), then ``kc_built(model)``,
      whose return value is the model trained;
    - inside it, ``kc_before_build()``, then KerasTuner's ``_build_hypermodel`` (the build
      function, under the tuner's strategy), then ``kc_check_model(model)``.
    """

    def _try_build(self, hp):
        self.kc_before_clear()
        return self.kc_built(super()._try_build(hp))

    def _build_hypermodel(self, hp):
        self.kc_before_build()
        return self.kc_check_model(super()._build_hypermodel(hp))


def _function(module, name):
    import importlib

    return getattr(importlib.import_module(module), name)


def get_hypermodel(hypermodel):
    """A build function or HyperModel as a HyperModel (KerasTuner's own wrapper)."""
    return _function("keras_tuner.src.engine.hypermodel", "get_hypermodel")(hypermodel)


def create_objective(objective):
    """KerasTuner's Objective for a name, a tuple or an Objective (direction included)."""
    return _function("keras_tuner.src.engine.objective", "create_objective")(objective)


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
