"""kerascraft: get the best model out of Keras, and get it fast.

The public verbs are importable from the package (``import kerascraft as kc``), but the
modules behind them are imported on first use, so ``import kerascraft`` starts neither
Keras nor TensorFlow.
"""

import importlib

# the "kerascraft" logger's handler, installed before any module logs (standard library only)
from kerascraft import log as _log  # noqa: F401

__version__ = "0.1.0"

#: the modules kerascraft's default paths import (with the Keras backend's, tensorflow or
#: jax, from KERAS_BACKEND; it goes before keras): ``python -m kerascraft check`` and R's
#: ``python_ready()`` check exactly these. pyproject.toml's dependencies install them.
REQUIRED_MODULES = ("numpy", "pandas", "sklearn", "scipy", "matplotlib", "optuna", "six",
                    "keras", "keras_tuner")

# public name -> module that defines it (one place for the public surface)
_EXPORTS = {
    "tuner": "tuning",
    "storage": "storages",
    "dashboard": "dashboards",
    "objective": "tuning",
    "search_space_summary": "tuning",
    "results": "trials",
    "result_columns": "trials",
    "RESULT_COLUMNS": "trials",
    "best_hyperparameters": "trials",
    "best_trials": "trials",
    "best_models": "trials",
    "TUNER_KINDS": "tuning",
    "premade_hypermodel": "tuning",
    "plot_search": "trials",
    "search_plot_data": "trials",
    "best_epoch": "retraining",
    "retrain_best": "retraining",
    "validation_vs_test": "retraining",
    "validation_vs_test_rows": "retraining",
    "use_mixed_precision": "precision",
    "precision_scope": "precision",
    "check_precision": "precision",
    "output_layers": "precision",
    "detect_hardware": "precision",
    "choose_policy": "precision",
    "benchmark_precision": "precision",
    "fit_ensemble": "ensemble",
    "cross_fit": "ensemble",
    "CrossFitted": "ensemble",
    "load_ensemble": "ensemble",
    "Ensemble": "ensemble",
    "diversity": "ensemble",
    "predictions": "ensemble",
    "fit_gradient_boosting": "ensemble",
    "plot_ensemble": "ensemble",
    "plot_diversity": "ensemble",
    "diversity_plot_data": "ensemble",
    "are_probabilities": "ensemble",
    "decide_task": "task",
    "InputError": "errors",
    "InputTypeError": "errors",
    "TaskChoice": "task",
    "auto_strategy": "strategy",
    "mirrored_strategy": "strategy",
    "tpu_strategy": "strategy",
    "multi_worker_strategy": "strategy",
    "simulate_devices": "strategy",
    "tf_config": "strategy",
    "free_ports": "strategy",
    "global_batch_size": "strategy",
    "scaled_learning_rate": "strategy",
    "check_strategy": "strategy",
    "fit_distributed": "strategy",
    "tune_steps_per_execution": "fusion",
    "search_distributed": "distributed",
    "make_dataset": "pipeline",
    "write_tfrecords": "pipeline",
    "read_tfrecords": "pipeline",
    "as_float32": "data",
    "prepare_fit_data": "data",
    "load_digits": "datasets",
    "load_dataset": "datasets",
    "craft": "workflow",
    "load_craft": "workflow",
    "default_hypermodel": "workflow",
    "CraftResult": "workflow",
    "CraftConfig": "workflow",
    "report": "reporting",
    "craft_demo": "demo",
}

#: public modules, imported on first use as well: ``kc.layers.RobustScaling``
_MODULES = ("layers",)

__all__ = sorted(_EXPORTS) + list(_MODULES) + ["__version__"]


def __getattr__(name):
    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kerascraft' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
