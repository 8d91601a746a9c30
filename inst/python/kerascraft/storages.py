"""Searches shared through an Optuna storage: a database (PostgreSQL, MySQL, SQLite) or a
journal file holds the study, and any number of worker processes, on any machines, take
their trials from it.

The storage is the search's record of which configurations were asked, which finished and
with what score. The models and checkpoints stay in the search's directory, which workers
on several machines must share (a network file system).

- :func:`storage` opens one (``tuner(storage=)`` takes the URL as well).
- A database records each running trial's heartbeat (a thread of the worker sends it every
  ``heartbeat_interval`` seconds). A trial without a heartbeat for ``grace_period``
  seconds is failed (its worker was killed, or its machine lost) and queued again once
  (``max_retries``); the next worker to ask takes it. A journal file has no heartbeat: it
  is for processes on one machine that are not killed.
- A search ends when ``max_trials`` trials have finished (completed, pruned, or failed by
  their own error); a trial failed for want of a heartbeat is not counted, its run again
  is.

Passwords never leave this module unmasked: :func:`masked` is how a URL is shown.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import warnings

from kerascraft.errors import InputError

log = logging.getLogger(__name__)

#: where a worker started by ``python -m kerascraft worker`` finds the storage (a URL on a
#: command line shows in ``ps``; the environment does not)
STORAGE_ENV = "KERASCRAFT_STORAGE"
#: set in a worker's process: it joins a search, so it must not start it afresh
WORKER_ENV = "KERASCRAFT_WORKER"
#: heartbeat defaults: a running trial's worker writes every 10 s; 60 s without one (a
#: model's build or compile can hold Python's lock for a few seconds) and it is dead
HEARTBEAT_SECONDS = 10
GRACE_SECONDS = 60
#: how often a trial whose worker died is run again
MAX_RETRIES = 1

# the study's user attributes kerascraft writes
SEARCH_ATTR = "kerascraft_search"      # study: objective, direction, space
TRIAL_ID_ATTR = "kerascraft_trial_id"  # trial: its KerasTuner trial id (its directory)
WORKER_ATTR = "kerascraft_worker"      # trial: the worker that ran it
VALUES_ATTR = "kerascraft_values"      # trial: its hyperparameter values, as KerasTuner's
ERROR_ATTR = "kerascraft_error"        # trial: it failed by its own error (counts as run)
REPEAT_ATTR = "kerascraft_repeat"      # trial: a repeat of that trial's values (not run)
SURPLUS_ATTR = "kerascraft_surplus"    # trial: asked beyond max_trials (not run)

#: the databases SQLAlchemy names (with a driver: ``postgresql+psycopg://``)
_DATABASES = ("sqlite", "postgresql", "mysql", "oracle", "mssql")


class StorageDependencyError(ImportError):
    """A database driver that is not installed (R: a dependency error)."""


def masked(url) -> str:
    """A storage's URL as it may be shown: its password replaced by ``***``."""
    text = str(url)
    if "://" not in text:
        return text  # a journal file's path
    try:
        from sqlalchemy.engine import make_url

        return make_url(text).render_as_string(hide_password=True)
    except Exception:
        return text.split("://", 1)[0] + "://***"  # not even SQLAlchemy reads it: show no part


def _scrub(text, url) -> str:
    """``text`` with the password of ``url`` replaced by ``***``."""
    try:
        from sqlalchemy.engine import make_url

        password = make_url(str(url)).password
    except Exception:
        return str(text)
    return str(text).replace(str(password), "***") if password else str(text)


def is_url(spec) -> bool:
    """Whether ``spec`` is a database URL (else a journal file's path)."""
    return isinstance(spec, str) and "://" in spec and \
        spec.split("://", 1)[0].split("+", 1)[0] in _DATABASES


def _driver_url(url: str) -> str:
    """``postgresql://`` with the driver installed: psycopg (3), which the ``database``
    extra brings, when psycopg2 is not there (SQLAlchemy picks psycopg2 for a bare
    ``postgresql://``)."""
    if not url.startswith("postgresql://"):
        return url
    import importlib.util

    if importlib.util.find_spec("psycopg2") is None and importlib.util.find_spec("psycopg"):
        return "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def storage(url=None, *, heartbeat_interval: int = HEARTBEAT_SECONDS,
            grace_period: int | None = GRACE_SECONDS, max_retries: int = MAX_RETRIES,
            connect_timeout: int = 10):
    """An Optuna storage for a search that several processes share.

    Args:
        url: a database URL (``postgresql://user:password@host:5432/db``,
            ``mysql+pymysql://...``, ``sqlite:///path/search.db``), or the path of a journal
            file (one machine; no heartbeat). ``None``: the ``KERASCRAFT_STORAGE``
            environment variable.
        heartbeat_interval: seconds between a running trial's heartbeats (databases).
        grace_period: seconds without a heartbeat after which a trial is failed and queued
            again (default 60).
        max_retries: how often such a trial is run again.
        connect_timeout: seconds to wait for the database.

    Returns:
        An Optuna storage (``optuna.storages.RDBStorage`` or ``JournalStorage``); an
        Optuna storage given as ``url`` is returned as it is.
    """
    import optuna

    if url is None:
        url = os.environ.get(STORAGE_ENV)
        if not url:
            raise InputError(f"no storage given and {STORAGE_ENV} is not set: give a database "
                             "URL (postgresql://..., sqlite:///...) or a journal file's path.")
    if isinstance(url, optuna.storages.BaseStorage):
        return url
    if not isinstance(url, (str, os.PathLike)):
        raise InputError(f"storage must be a database URL, a journal file's path or an Optuna "
                         f"storage; got {type(url).__name__}.")
    url = os.fspath(url)
    if not is_url(url):
        if "://" in url:
            raise InputError(f"storage {masked(url)!r}: unknown kind of URL; use "
                             "postgresql://, mysql://, sqlite:/// or a journal file's path.")
        return _journal(url)
    heartbeat_interval = int(heartbeat_interval)
    grace = None if grace_period is None else int(grace_period)
    if heartbeat_interval < 1 or (grace is not None and grace <= heartbeat_interval):
        raise InputError(f"heartbeat_interval must be at least 1 s and grace_period longer "
                         f"than it; got {heartbeat_interval} and {grace_period}.")
    from kerascraft.compat import optuna as compat_optuna

    connect = {"connect_timeout": int(connect_timeout)} if url.startswith(
        ("postgresql", "mysql")) else {}
    try:
        with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna 5
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(
                _driver_url(url),
                engine_kwargs={"connect_args": connect} if connect else None,
                heartbeat_interval=heartbeat_interval, grace_period=grace,
                **compat_optuna.stale_trial_callback(int(max_retries)))
    except ModuleNotFoundError as err:
        raise StorageDependencyError(
            f"storage {masked(url)!r} needs the Python module {err.name!r}: "
            "pip install 'kerascraft[database]' (psycopg for PostgreSQL), or the driver the "
            "URL names.") from None
    except Exception as err:  # SQLAlchemy's OperationalError and its kin
        reason = _scrub(str(getattr(err, "orig", None) or err).strip().splitlines()[0], url)
        raise InputError(
            f"cannot open the storage {masked(url)}: {reason}. Check that the database "
            "server runs and is reachable from this machine (host and port), that the "
            "database exists, and the user name and password.") from None


def _journal(path):
    import optuna

    path = os.path.abspath(os.path.expanduser(path))
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise InputError(f"storage: the folder of the journal file {path!r} does not exist.")
    store = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(path))
    store.kerascraft_path = path  # for describe()
    return store


def has_heartbeat(store) -> bool:
    """Whether ``store`` records heartbeats (a database opened with a heartbeat_interval)."""
    interval = getattr(store, "get_heartbeat_interval", None)
    return bool(interval and interval() is not None and hasattr(store, "record_heartbeat"))


def describe(store) -> str:
    """The storage in words, its password masked."""
    url = getattr(store, "url", None)
    if url:
        return masked(url)
    path = getattr(store, "kerascraft_path", None)
    return f"journal file {path}" if path else type(store).__name__


class Heartbeat:
    """A thread that records a running trial's heartbeat every ``interval`` seconds until
    :meth:`stop` (the first one at once: a trial without any is never found stale)."""

    def __init__(self, store, trial_id: int):
        self._store, self._trial_id = store, int(trial_id)
        self._stop = threading.Event()
        self._thread = None
        if not has_heartbeat(store):
            return
        self._interval = float(store.get_heartbeat_interval())
        self._beat()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"kerascraft-heartbeat-{trial_id}")
        self._thread.start()

    def _beat(self):
        try:
            self._store.record_heartbeat(self._trial_id)
        except Exception as err:  # the database away for a moment: the next beat retries
            log.warning(f"kerascraft: heartbeat of trial {self._trial_id} not recorded: "
                        f"{_scrub(type(err).__name__ + ': ' + str(err), getattr(self._store, 'url', ''))}")

    def _run(self):
        while not self._stop.wait(self._interval):
            self._beat()

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


# -- the study's record --------------------------------------------------------------------

def space_record(hyperparameters, objective_name, direction, model=None) -> dict:
    """What identifies a search in its study: the objective, its direction, each
    hyperparameter's definition, and the build function's or HyperModel's digest
    (:func:`kerascraft.hypermodels.identity`; ``None``: it has no source)."""
    space = {hp.name: json.loads(json.dumps(hp.get_config(), default=str))
             for hp in hyperparameters.space}
    return {"objective": objective_name, "direction": direction, "space": space,
            "model": model}


def check_search(study, record, where) -> None:
    """Write ``record`` into a new study; refuse a study that holds another search."""
    known = study.user_attrs.get(SEARCH_ATTR)
    if known is None:
        if study.get_trials(deepcopy=False):
            raise InputError(f"the study {study.study_name!r} in {where} was not made by "
                             "kerascraft: use another project_name.")
        study.set_user_attr(SEARCH_ATTR, record)
        return
    problems = []
    for key in ("objective", "direction"):
        if known.get(key) != record[key]:
            problems.append(f"its {key} is {known.get(key)!r}, this search's {record[key]!r}")
    old, new = known.get("space", {}), record["space"]
    differ = sorted(n for n in set(old) | set(new) if old.get(n) != new.get(n))
    if known.get("model") and record["model"] and known["model"] != record["model"]:
        problems.append("its build function or HyperModel has other code")
    if differ:
        problems.append("these hyperparameters differ: " + ", ".join(differ[:8])
                        + (" ..." if len(differ) > 8 else ""))
    if problems:
        raise InputError(f"the study {study.study_name!r} in {where} is another search ("
                         + "; ".join(problems) + "). Use another project_name for this "
                         "search, or the same build function and objective to join that one.")


def counts(study, below: int | None = None) -> dict:
    """The study's trials by what they mean for ``max_trials``: ``done`` (completed,
    pruned, failed by their own error), ``busy`` (running, or waiting to be run again),
    ``waiting``; only those numbered below ``below`` when given."""
    import optuna

    S = optuna.trial.TrialState
    out = {"done": 0, "busy": 0, "waiting": 0}
    for t in study.get_trials(deepcopy=False):
        if below is not None and t.number >= below:
            continue
        attrs = t.user_attrs
        if REPEAT_ATTR in attrs or SURPLUS_ATTR in attrs:
            continue
        if t.state in (S.COMPLETE, S.PRUNED) or (t.state == S.FAIL and ERROR_ATTR in attrs):
            out["done"] += 1
        elif t.state in (S.RUNNING, S.WAITING):
            out["busy"] += 1
            out["waiting"] += t.state == S.WAITING
    return out
