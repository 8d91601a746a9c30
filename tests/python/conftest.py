import pytest

from kerascraft.demo import build_digits_mlp as build_mlp


@pytest.fixture(scope="session")
def digits():
    from kerascraft.datasets import load_digits

    return load_digits(seed=0)


@pytest.fixture
def build():
    return build_mlp
