import re
import shutil
import tempfile

import pytest

from kerascraft.demo import build_digits_mlp as build_mlp


@pytest.fixture(scope="session")
def digits():
    from kerascraft.datasets import load_digits

    return load_digits(seed=0)


@pytest.fixture
def build():
    return build_mlp


#: the time at the head of a progress line: ``[0:12] `` or ``[0:12, 0:48 left] ``
CLOCK_PATTERN = r"^\[\d+(?::\d\d)+(?:, \d+(?::\d\d)+ left)?\] "
CLOCK = re.compile(CLOCK_PATTERN)


def unclocked(line: str) -> str:
    """A progress line without the time at its head."""
    return CLOCK.sub("", line, count=1)


def said(lines: list):
    """A ``progress=`` function that keeps each line, without its time, in ``lines``."""
    return lambda line: lines.append(unclocked(line))


#: a small craft() run shared by the craft and report tests
WINE_ARGS = dict(max_trials=3, epochs=15, top=2, kind="random", seed=1)


@pytest.fixture(scope="session")
def wine():
    from kerascraft.datasets import load_dataset

    return load_dataset("wine", split=False)


@pytest.fixture(scope="session")
def wine_run(tmp_path_factory, wine):
    """craft() on wine: (result, progress lines, directory)."""
    from kerascraft.workflow import craft

    directory = tmp_path_factory.mktemp("craft") / "wine"
    lines = []
    result = craft(wine["x"], wine["y"], directory=str(directory), progress=said(lines),
                   **WINE_ARGS)
    return result, lines, directory


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.fail("the browser tests need Chromium and ChromeDriver: `make test` installs "
                    "them (Debian packages chromium, chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="kc-chromium-")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1200,900",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)
