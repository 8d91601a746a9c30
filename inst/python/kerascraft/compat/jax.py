"""JAX's private names that kerascraft uses (JAX 0.7 to 0.12 are what it is tested on)."""

from __future__ import annotations

from kerascraft.compat import missing

#: functions of ``jax._src.xla_bridge``: name -> why
XLA_BRIDGE = {
    "backends_are_initialized": "to tell whether simulate_devices() still can split the "
                                "CPU (JAX reads the device count once, when it starts)",
}


def backends_are_initialized() -> bool:
    """Whether JAX has started its backends (after which the device count is fixed)."""
    from jax._src import xla_bridge

    return xla_bridge.backends_are_initialized()


def check() -> list:
    """One line for each private name the installed JAX lacks."""
    try:
        from jax._src import xla_bridge
    except ImportError as err:
        return [f"jax._src.xla_bridge cannot be imported ({err}): kerascraft uses "
                f"{', '.join(XLA_BRIDGE)} from it."]
    return missing(xla_bridge, XLA_BRIDGE, "jax._src.xla_bridge", "jax")
