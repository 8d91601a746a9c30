"""What identifies a hypermodel (a build function or a ``HyperModel``), so that saved trials
are never resumed with another model.

A build function is known by its qualified name and its source; a ``HyperModel`` by its
class's name and source and its plain settings (numbers, strings, shapes: a pre-made
``HyperResNet(classes=10)`` is not ``HyperResNet(classes=5)``). R's build functions and
``%py_class%`` classes have no Python source: the R package hands their deparsed R code over
as ``__kerascraft_source__``. What has no source at all (a function typed at Python's
``-c``, a callable object of a compiled extension) cannot be identified: ``None``.
"""

from __future__ import annotations

import hashlib
import inspect
import textwrap

#: the attribute under which the R package gives a build function's or class's R code
SOURCE_ATTRIBUTE = "__kerascraft_source__"

_PLAIN = (bool, int, float, str, type(None))


def identity(hypermodel) -> dict | None:
    """``{"name": ..., "digest": ...}`` for ``hypermodel``, or ``None`` when it has no
    source to identify it by. Equal identities mean the same code with the same settings."""
    import keras_tuner as kt

    if isinstance(hypermodel, kt.HyperModel):
        owner = type(hypermodel)
        settings = {k: v for k, v in sorted(vars(hypermodel).items())
                    if k not in ("name", "tunable") and _plain(v)}
    elif callable(hypermodel):
        owner, settings = hypermodel, {}
    else:
        return None
    source = getattr(owner, SOURCE_ATTRIBUTE, None) or _source(owner)
    if source is None:
        return None
    name = f"{getattr(owner, '__module__', '?')}.{getattr(owner, '__qualname__', repr(owner))}"
    digest = hashlib.sha256((source + "\n" + repr(settings)).encode()).hexdigest()[:16]
    return {"name": name, "digest": digest}


def _source(obj) -> str | None:
    try:
        return textwrap.dedent(inspect.getsource(obj))
    except (OSError, TypeError):
        return None


def _plain(value) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return isinstance(value, _PLAIN)
