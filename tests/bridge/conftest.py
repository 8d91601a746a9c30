import pytest

from rsession import start_r


@pytest.fixture(scope="session")
def r():
    """Evaluate R code in the embedded R session; R errors raise RRuntimeError."""
    return start_r()


@pytest.fixture
def rdir(tmp_path, r):
    """A temporary directory, also bound to `tmp` in R's global environment."""
    r.assign("tmp", str(tmp_path))
    return tmp_path


# The suite leaves an embedded R, reticulate's Python objects and TensorFlow's threads in
# one process; tearing that down at interpreter exit has crashed now and then (segfault
# after every test passed). Users' processes exit cleanly (test_process_exit checks one in a
# fresh process); here the exit status is all that matters, so leave without the teardown.
_EXIT = {}


def pytest_sessionfinish(session, exitstatus):
    _EXIT["status"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    import os
    import sys

    if "status" in _EXIT:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT["status"])
