"""TensorFlow's private names that kerascraft uses (TensorFlow 2.21 is what it is tested on)."""

from __future__ import annotations

import sys

#: the module, the registry object and its dict
REGISTRY = ("tensorflow.python.framework.ops", "_gradient_registry", "_registry")
WHY = ("to remove the CustomGradient functions each traced train step registers and "
       "TensorFlow never removes (about 1 MB a trial; tensorflow/tensorflow#97697)")


def _registry():
    """TensorFlow's global registry of gradient functions, if TensorFlow is loaded."""
    module, holder, attribute = REGISTRY
    ops = sys.modules.get(module)
    registry = getattr(getattr(ops, holder, None), attribute, None)
    return registry if isinstance(registry, dict) else None


def custom_gradient_names():
    """The ``CustomGradient-<n>`` entries of the registry; None when TensorFlow is not loaded."""
    registry = _registry()
    return None if registry is None else {k for k in registry if k.startswith("CustomGradient-")}


def remove_gradients(names) -> None:
    """Drop these entries from the registry (those whose graphs are no longer needed)."""
    registry = _registry()
    if registry is not None:
        for name in names:
            registry.pop(name, None)


def check() -> list:
    """One line when the installed TensorFlow no longer has the registry."""
    import importlib

    module, holder, attribute = REGISTRY
    importlib.import_module(module)
    if _registry() is None:
        return [f"{module}.{holder}.{attribute} is gone (or no longer a dict) in TensorFlow "
                f"{sys.modules['tensorflow'].__version__}: kerascraft uses it {WHY}. Install "
                "the release in kerascraft's pins (inst/python/requirements*.txt) or report it."]
    return []
