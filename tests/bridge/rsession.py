"""Start R embedded in this Python process, the way kerascraft's bridge tests and users of
rpy2 do, with the exit-time abort of rpy2 3.5 on R 4.2 avoided."""

import atexit


def start_r():
    """Start embedded R once, attach kerascraft, and return ``rpy2.robjects.r``."""
    import rpy2.rinterface_lib.embedded as embedded
    import rpy2.robjects as ro

    # rpy2's atexit hook `endr` aborts the interpreter at exit (GIL error, status 134)
    # once reticulate has run Python code from R; R needs no clean-up at process exit.
    atexit.unregister(embedded.endr)
    atexit.register(_stop_r_event_callback)
    ro.r("suppressPackageStartupMessages(library(kerascraft))")
    return ro.r


def _stop_r_event_callback():
    """R polls rpy2's event callback while Python shuts down, after the callback's module
    is gone ('NoneType' object has no attribute 'error'); unhook it first."""
    from rpy2.rinterface_lib import openrlib

    openrlib.rlib.ptr_R_ProcessEvents = openrlib.ffi.NULL
