"""optuna-dashboard for a search kept in a storage: the search live in a browser.

:func:`dashboard` starts optuna-dashboard's web application in a process of its own (so it
serves while R or Python is busy, or idle at a prompt) on 127.0.0.1 and a free port, and
returns a :class:`Dashboard` with its ``url`` and ``stop()``. It stops when this process
ends, too. optuna-dashboard is an extra: ``pip install 'kerascraft[dashboard]'``.

Its pages can change the study (notes, trial states), and it has no log-in: it listens on
127.0.0.1 unless told otherwise; to watch from another machine, forward the port (``ssh -L``)
rather than listening on every address.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import subprocess
import sys
import threading
import time

from kerascraft.errors import InputError
from kerascraft.storages import STORAGE_ENV, describe

#: the line the dashboard's process prints once it listens
READY = "kerascraft dashboard listening on port "


class DashboardDependencyError(ImportError):
    """optuna-dashboard is not installed (R: a dependency error)."""


class Dashboard:
    """A running optuna-dashboard: ``url`` (its page of the study when it was started for
    one search, else its list of studies), ``stop()``; a context manager."""

    def __init__(self, process, host, port, where, study_id=None):
        self._process, self.host, self.port, self.where = process, host, port, where
        self.root = f"http://{host}:{port}/dashboard/"
        self.url = self.root + (f"studies/{study_id}" if study_id is not None else "")

    @property
    def running(self) -> bool:
        return self._process.poll() is None

    def stop(self) -> None:
        """Stop the dashboard's process (what it shows stays in the storage)."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        state = "running" if self.running else "stopped"
        return f"<kerascraft Dashboard {self.url} ({state}) of {self.where}>"


def _storage_of(search):
    """``(url or journal path, what to show, study name or None)`` of a tuner with a
    storage, a URL, a journal file's path or an Optuna storage kerascraft opened."""
    oracle = getattr(search, "oracle", None)
    if oracle is not None:
        if not getattr(oracle, "shared", False):
            raise InputError("this search keeps no storage: build the tuner with storage= (a "
                             "database URL or a journal file), or give craft() storage=, to "
                             "watch it in optuna-dashboard.")
        store, name = oracle.storage_handle(), oracle.study_name
    else:
        store, name = search, None
    if isinstance(store, (str, os.PathLike)):
        return os.fspath(store), store, name
    address = getattr(store, "url", None) or getattr(store, "kerascraft_path", None)
    if address is None:
        raise InputError(f"cannot show {type(store).__name__} in a dashboard of its own "
                         "process: give a database URL or a journal file's path.")
    return address, describe(store), name


def dashboard(search, *, host: str = "127.0.0.1", port: int = 0,
              timeout: float = 60) -> Dashboard:
    """Start optuna-dashboard for ``search`` and return it (``url``, ``stop()``).

    Args:
        search: a tuner made with ``storage=``, or a storage (a database URL, a journal
            file's path, :func:`kerascraft.storage`'s result).
        host: where it listens: 127.0.0.1 (this machine only) unless you mean otherwise.
        port: its port; 0 takes a free one.
        timeout: seconds to wait for it to listen.
    """
    if importlib.util.find_spec("optuna_dashboard") is None:
        raise DashboardDependencyError(
            "the dashboard needs optuna-dashboard: pip install 'kerascraft[dashboard]' (or "
            "pip install optuna-dashboard) in kerascraft's Python environment.")
    address, where, name = _storage_of(search)
    if host not in ("127.0.0.1", "localhost", "::1"):
        import logging

        logging.getLogger(__name__).warning(f"kerascraft: the dashboard listens on {host}: anyone who "
                              "reaches it can change the study (it has no log-in)")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env[STORAGE_ENV] = str(address)  # not on the command line, which ps shows
    core = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join([core, *filter(None, [env.get("PYTHONPATH")])])
    process = subprocess.Popen(
        [sys.executable, "-m", "kerascraft", "dashboard", "--host", host, "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    got = _wait_for_port(process, timeout)
    if got is None:
        process.kill()
        output = process.stdout.read() if process.stdout else ""
        raise RuntimeError(f"optuna-dashboard did not start within {timeout:g} s: "
                           f"{output.strip()[-2000:]}")
    study_id = _study_id(address, name)
    board = Dashboard(process, host, got, where, study_id)
    atexit.register(board.stop)
    return board


def _wait_for_port(process, timeout):
    found = []

    def read():
        for line in process.stdout:
            if line.startswith(READY):
                found.append(int(line[len(READY):].strip()))
                break
        # the rest of its output is not needed; reading it keeps the pipe from filling
        for _ in process.stdout:
            pass

    threading.Thread(target=read, daemon=True).start()
    end = time.monotonic() + timeout
    while time.monotonic() < end and not found and process.poll() is None:
        time.sleep(0.05)
    return found[0] if found else None


def _study_id(address, name):
    if name is None:
        return None
    from kerascraft.storages import storage

    try:
        return storage(address).get_study_id_from_name(name)
    except KeyError:  # no trial asked yet: the list of studies
        return None


def serve(host: str, port: int) -> None:
    """The dashboard's process: optuna-dashboard on ``KERASCRAFT_STORAGE`` (the CLI's
    ``dashboard`` command); prints :data:`READY` and the port, then serves until stopped."""
    import socketserver
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    import optuna_dashboard

    from kerascraft.storages import storage

    class Server(socketserver.ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):  # one line per request is noise here
            pass

    app = optuna_dashboard.wsgi(storage(os.environ.get(STORAGE_ENV)))
    with make_server(host, int(port), app, server_class=Server, handler_class=Quiet) as server:
        print(f"{READY}{server.server_address[1]}", flush=True)
        server.serve_forever()
