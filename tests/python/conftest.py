import pytest

from digits_models import build_mlp


@pytest.fixture(scope="session")
def digits():
    from kerascraft.datasets import load_digits

    return load_digits(seed=0)


@pytest.fixture
def build():
    return build_mlp
