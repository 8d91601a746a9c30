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
#: methods of ``keras_tuner.Oracle`` that an oracle whose trials come from a shared Optuna
#: storage (:class:`kerascraft.oracles.OptunaOracle` with ``storage``) calls, to start a
#: trial of the id the storage gave as KerasTuner's ``create_trial`` starts its own: name ->
#: why
ORACLE_STEPS = {
    "_record_values": "to record a started trial's values, as create_trial() does",
    "_save_trial": "to write a started trial's trial.json, as create_trial() does",
    "_project_dir": "to find the trials of every worker of a shared search (trial_*/trial.json)",
}


def start_trial(oracle, trial, tuner_id) -> None:
    """Record ``trial`` (status RUNNING, its id and values set) as started by ``tuner_id``:
    what KerasTuner's ``Oracle.create_trial`` does with a trial it made."""
    oracle._record_values(trial)
    oracle.ongoing_trials[tuner_id] = trial
    oracle.trials[trial.trial_id] = trial
    oracle.start_order.append(trial.trial_id)
    oracle._save_trial(trial)
    display = getattr(oracle, "_display", None)  # set by Oracle.__init__; ends what it begins
    if display is not None:
        display.on_trial_begin(trial)


def save_trial(oracle, trial) -> None:
    """Write ``trial``'s trial.json again (a status changed)."""
    oracle._save_trial(trial)


def trial_files(oracle) -> list:
    """The trial.json files in the oracle's project directory (every worker's)."""
    import glob
    import os

    return sorted(glob.glob(os.path.join(glob.escape(oracle._project_dir), "trial_*",
                                         "trial.json")))


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
    problems += missing(kt.Oracle, ORACLE_STEPS, "keras_tuner.Oracle", "keras_tuner")
    return problems
