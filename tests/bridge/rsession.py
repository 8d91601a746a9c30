"""Start R embedded in this Python process, the way kerascraft's bridge tests and users of
rpy2 do, with the exit-time abort of rpy2 3.5 on R 4.2 avoided.

Known limit of rpy2 3.5 + reticulate 1.28: rpy2 releases the GIL while R runs, and some
reticulate paths then touch Python without taking it back ("PyThreadState_Get: ... the GIL
is released"). It shows when R loads compiled namespaces (ggplot2's) after Python ran from
R, and, rarely, after much other Python work in the same process. The bridge suite
therefore runs in a process of its own, and R code that plots runs through Rscript.
"""

import atexit


def start_r():
    """Start embedded R once, attach kerascraft, and return ``rpy2.robjects.r``."""
    import rpy2.rinterface_lib.embedded as embedded
    import rpy2.robjects as ro

    # rpy2's atexit hook `endr` aborts the interpreter at exit (GIL error, status 134)
    # once reticulate has run Python code from R; R needs no clean-up at process exit.
    atexit.unregister(embedded.endr)
    # atexit runs last-registered first: this runs after the handlers registered later
    # (TensorFlow's, reticulate's), then leaves without the interpreter's own teardown
    atexit.register(_exit_without_teardown)
    atexit.register(_stop_r_event_callback)
    ro.r("suppressPackageStartupMessages(library(kerascraft))")
    return ro.r


def _stop_r_event_callback():
    """R polls rpy2's event callback while Python shuts down, after the callback's module
    is gone ('NoneType' object has no attribute 'error'); unhook it first."""
    from rpy2.rinterface_lib import openrlib

    openrlib.rlib.ptr_R_ProcessEvents = openrlib.ffi.NULL


def _exit_without_teardown():
    """Leave without finalising the interpreter: with R embedded, reticulate's objects and
    TensorFlow's threads, the teardown segfaulted in about one exit of four (after all work
    was done and flushed). The exit status is kept: 1 after an uncaught exception."""
    import os
    import sys

    code = 1 if getattr(sys, "last_value", None) is not None else 0
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
