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
