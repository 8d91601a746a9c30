"""Distributed tuning with KerasTuner's own chief/worker mode, started and watched by one call.

KerasTuner distributes a search by running the *same script* in several processes that
differ only in their environment: ``KERASTUNER_TUNER_ID`` (``"chief"`` or a worker name),
``KERASTUNER_ORACLE_IP`` and ``KERASTUNER_ORACLE_PORT``. The chief serves the oracle over
gRPC; each worker asks it for trials and reports results. :func:`search_distributed` starts
the chief and the workers of such a script on this machine and watches them:

- the oracle listens on 127.0.0.1 unless ``host`` says otherwise;
- a worker that dies (killed, out of memory) is started again under the same name, and
  KerasTuner hands it the trial it was running: the trial is retried, and ``results()``
  counts it in ``retries``; a trial whose process dies more than ``max_retries`` times is
  recorded as failed with that reason;
- KerasTuner 1.4.8's chief waits for every worker it has seen, so it never exits when a
  worker vanishes for good, and otherwise looks for the end only every 20 s; when all
  workers are done, the chief gets a few seconds and is then stopped (its oracle state is
  saved after every trial, so nothing is lost).

Workers on other machines join with ``python -m kerascraft worker script.py --oracle
HOST:PORT --id NAME``.

With ``storage`` (a database URL or a journal file; the Optuna tuner kinds) there is no
chief: every process is a worker that takes its trials from the storage
(:mod:`kerascraft.storages`), and one that dies has its trial run again by another (the
heartbeat tells). Workers on other machines join with ``python -m kerascraft worker
script.py --storage URL`` (or ``KERASCRAFT_STORAGE=URL``), at any time.
"""

from __future__ import annotations

import logging
import os
import runpy
import subprocess
import sys
import time

from kerascraft import log as kc_log
from kerascraft.errors import InputError
from kerascraft.strategy import free_ports

log = logging.getLogger(__name__)

#: exit code of a worker that leaves after KERASCRAFT_TRIALS_PER_PROCESS trials, to be
#: replaced by a fresh process (EX_TEMPFAIL)
RECYCLE_EXIT_CODE = 75

#: how long the chief may take to exit once every worker has left. KerasTuner 1.4.8's
#: chief looks for the end only every 20 s; its oracle state is saved after every trial,
#: so stopping it sooner loses nothing.
CHIEF_GRACE_SECONDS = 3

#: set in every process :func:`search_distributed` starts: when the search began
#: (``time.time()``), so that a worker started later (again after dying, or fresh after its
#: share of trials) keeps the search's ``time_limit``, not one of its own
STARTED_ENV = "KERASCRAFT_SEARCH_STARTED"


def process_env(tuner_id: str, host: str, port: int, max_retries: int | None = None,
                trials_per_process: int | None = None, base: dict | None = None,
                started: float | None = None) -> dict:
    """The environment that makes a script a chief (``tuner_id="chief"``) or a worker;
    ``started`` (``time.time()``) is when the search began: a ``time_limit`` counts from
    then in every process, one started again later too."""
    env = dict(os.environ if base is None else base)
    env.update(KERASTUNER_TUNER_ID=tuner_id, KERASTUNER_ORACLE_IP=host,
               KERASTUNER_ORACLE_PORT=str(port), PYTHONUNBUFFERED="1")
    if started is not None:
        env[STARTED_ENV] = repr(float(started))
    if max_retries is not None:
        env["KERASCRAFT_MAX_RETRIES"] = str(int(max_retries))
    if trials_per_process:
        env["KERASCRAFT_TRIALS_PER_PROCESS"] = str(int(trials_per_process))
    return env


def storage_env(tuner_id: str, storage: str, base: dict | None = None,
                started: float | None = None) -> dict:
    """The environment that makes a script a worker of a search shared through
    ``storage`` (no chief: KerasTuner's oracle variables are removed)."""
    from kerascraft.storages import STORAGE_ENV, WORKER_ENV

    env = dict(os.environ if base is None else base)
    for name in ("KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
        env.pop(name, None)
    env.update({"KERASTUNER_TUNER_ID": tuner_id, STORAGE_ENV: str(storage), WORKER_ENV: "1",
                "PYTHONUNBUFFERED": "1"})
    if started is not None:
        env[STARTED_ENV] = repr(float(started))
    return env


def worker_name() -> str:
    """A worker's name, unique across machines: host and process id."""
    import socket

    return f"{socket.gethostname()}-{os.getpid()}"


def run_as(script: str, tuner_id: str, host: str | None = None, port: int | None = None,
           argv=(), storage: str | None = None) -> None:
    """Run ``script`` in this process as the chief or a worker (the CLI's ``worker`` and
    ``chief`` commands); with ``storage``, as a worker of a search shared through it."""
    if storage is not None:
        os.environ.update(storage_env(tuner_id, storage, base={}))
        for name in ("KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
            os.environ.pop(name, None)
    else:
        os.environ.update(process_env(tuner_id, host, port, base={}))
    sys.argv = [script, *argv]
    runpy.run_path(script, run_name="__main__")


class _Process:
    def __init__(self, name, script, env, log_dir, python, argv):
        self.name, self.script, self.env = name, script, env
        self.log_dir, self.python, self.argv = log_dir, python, list(argv)
        self.starts, self.exits, self.recycled = 0, [], 0
        self.proc = None
        self.start()

    def start(self):
        self.starts += 1
        self.recorded = False  # this start's exit code is not in `exits` yet
        log = open(os.path.join(self.log_dir, f"{self.name}.log"), "a", encoding="utf-8")
        log.write(f"--- kerascraft: start {self.starts} of {self.name} ---\n")
        log.flush()
        self.proc = subprocess.Popen([self.python, self.script, *self.argv], env=self.env,
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def poll(self):
        return self.proc.poll()


def _say(message):
    log.info(f"kerascraft: {message}")


def _supervise(chief, team, started, timeout, log_dir, max_restarts):
    """Watch the chief and the workers until every worker is done; returns the chief's exit
    code (or ``"stopped"``)."""
    chief_exit = None
    while True:
        if timeout is not None and time.monotonic() - started > timeout:
            raise TimeoutError(f"distributed search still running after {timeout:g} s; "
                               f"stopped. See the logs in {log_dir}.")
        code = chief.poll()
        if code is not None and chief_exit is None:
            chief_exit = code
            if code != 0:
                raise RuntimeError(f"the chief exited with code {code}; see "
                                   f"{os.path.join(log_dir, 'chief.log')}.")
        if _tend(team, restart=chief_exit is None, max_restarts=max_restarts) == 0:
            break
        time.sleep(0.2)
    return chief_exit if chief_exit is not None else _wait_for_chief(chief)


def _tend(team, restart, max_restarts) -> int:
    """Record the workers that exited, start again those that died (and those that left
    after their share of trials) while ``restart``; returns how many are running."""
    running = 0
    for w in team:
        code = w.poll()
        if code is None:
            running += 1
            continue
        if w.recorded:
            continue
        w.exits.append(code)
        w.recorded = True
        if code == RECYCLE_EXIT_CODE and restart:
            w.recycled += 1  # done its share of trials: a fresh process goes on
            w.start()
            running += 1
        elif code != 0 and w.starts - w.recycled <= max_restarts and restart:
            _say(f"{w.name} died (exit code {code}); starting it again: its trial is retried")
            w.start()
            running += 1
    return running


def _wait_for_chief(chief):
    """The chief's exit code once every worker is done, or ``"stopped"``: KerasTuner
    1.4.8's chief waits for workers it has seen, so one that died for good would hold it
    forever."""
    deadline = time.monotonic() + CHIEF_GRACE_SECONDS
    while time.monotonic() < deadline:
        code = chief.poll()
        if code is not None:
            return code
        time.sleep(0.2)
    chief.proc.terminate()
    chief.proc.wait(10)
    _say("all workers are done; the chief was stopped (its oracle state is saved after every "
        "trial)")
    return "stopped"


def _supervise_workers(team, started, timeout, log_dir, max_restarts):
    """Watch a shared search's workers until every one has left (the search is done)."""
    while _tend(team, restart=True, max_restarts=max_restarts):
        if timeout is not None and time.monotonic() - started > timeout:
            raise TimeoutError(f"distributed search still running after {timeout:g} s; "
                               f"stopped. See the logs in {log_dir}.")
        time.sleep(0.2)


def search_distributed(script, workers: int = 2, host: str = "127.0.0.1", port: int | None = None,
                       max_retries: int = 1, max_restarts: int = 10,
                       trials_per_process: int | None = None, timeout: float | None = None,
                       log_dir: str | None = None, python: str = sys.executable, argv=(),
                       verbose: int = 1, storage: str | None = None) -> dict:
    """Run the search in ``script`` with a chief and ``workers`` worker processes, or, with
    ``storage``, with ``workers`` worker processes that share it (no chief).

    ``script`` is an ordinary Python file that builds a tuner (``kerascraft.tuner(...)`` with
    ``overwrite=False`` and a fixed ``directory``) and calls ``search()``: the same file runs
    in every process. Afterwards, build the tuner again in this process (same arguments) and
    read ``kerascraft.results(tuner)``.

    Args:
        script: path of the search script.
        workers: worker processes on this machine.
        host, port: where the chief's oracle listens (default 127.0.0.1, a free port).
        max_retries: how often a trial whose worker died is run again before it is recorded
            as failed.
        max_restarts: how often each worker may be started again after dying.
        trials_per_process: a worker leaves after this many trials and a fresh process
            takes its place (same name): hands back everything a process keeps of its
            trials (kerascraft already frees what TensorFlow and JAX keep of each trial;
            this also covers leaks of the user's own code), at the price of a process start
            (a few seconds) per that many trials.
        timeout: seconds after which everything is stopped (None: no limit).
        log_dir: where each process's output goes (``chief.log``, ``tuner0.log``, ...);
            default ``kerascraft_logs`` beside the script.
        python: the interpreter for the processes.
        argv: extra command-line arguments for the script.
        verbose: 1 reports starts, deaths and the end.
        storage: a database URL or a journal file's path (the Optuna tuner kinds): the
            workers take their trials from it, and the script's ``tuner()`` needs no
            ``storage`` argument (a worker reads ``KERASCRAFT_STORAGE``); ``host``,
            ``port``, ``max_retries`` and ``trials_per_process`` are the chief's and do
            not apply (the storage's own ``max_retries`` does).

    Returns:
        dict: ``chief_exit`` (its exit code; ``"stopped"`` when it had to be stopped;
        ``None`` with ``storage``),
        ``workers`` (per worker: starts and exit codes), ``seconds``, ``log_dir``.
    """
    script = os.path.abspath(script)
    if not os.path.isfile(script):
        raise FileNotFoundError(f"no search script {script}.")
    if int(workers) < 1:
        raise InputError(f"workers must be at least 1, got {workers}.")
    port = int(port or free_ports(1)[0])
    log_dir = os.path.abspath(log_dir or os.path.join(os.path.dirname(script), "kerascraft_logs"))
    os.makedirs(log_dir, exist_ok=True)
    if storage is not None:
        return _search_shared(script, int(workers), storage, max_restarts, timeout, log_dir,
                              python, argv, verbose)
    with kc_log.progress(verbose):
        started, began = time.monotonic(), time.time()
        chief = _Process("chief", script, process_env("chief", host, port, max_retries),
                         log_dir, python, argv)
        _say(f"chief oracle on {host}:{port} (logs in {log_dir})")
        time.sleep(1.0)  # let the server bind before workers knock
        team = [_Process(f"tuner{i}", script,
                         process_env(f"tuner{i}", host, port, max_retries, trials_per_process,
                                     started=began),
                         log_dir, python, argv)
                for i in range(int(workers))]
        _say(f"{len(team)} worker(s) started")
        try:
            chief_exit = _supervise(chief, team, started, timeout, log_dir, max_restarts)
        finally:
            _kill([chief, *team])
        return _outcome(chief_exit, team, started, log_dir)


def _kill(processes):
    for p in processes:
        if p.poll() is None:
            p.proc.kill()
            p.proc.wait()


def _outcome(chief_exit, team, started, log_dir) -> dict:
    seconds = time.monotonic() - started
    _say(f"distributed search done in {seconds:.0f} s")
    return {"chief_exit": chief_exit, "seconds": seconds, "log_dir": log_dir,
            "workers": {w.name: {"starts": w.starts, "exits": w.exits, "recycled": w.recycled}
                        for w in team}}


def _search_shared(script, workers, storage, max_restarts, timeout, log_dir, python, argv,
                   verbose) -> dict:
    from kerascraft.storages import describe, storage as open_storage

    where = describe(open_storage(storage))  # an unreachable database: an error now
    with kc_log.progress(verbose):
        started, began = time.monotonic(), time.time()
        team = [_Process(f"worker{i}", script, storage_env(f"worker{i}", storage,
                                                           started=began),
                         log_dir, python, argv)
                for i in range(workers)]
        _say(f"{len(team)} worker(s) started on {where} (logs in {log_dir})")
        try:
            _supervise_workers(team, started, timeout, log_dir, max_restarts)
        finally:
            _kill(team)
        return _outcome(None, team, started, log_dir)
