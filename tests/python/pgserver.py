"""A throwaway PostgreSQL server for the tests (and bench/storage.py): Debian's package, a
cluster in a temporary folder, a free port on 127.0.0.1, a password, stopped and removed at
the end. No system service is started or left behind.

As root (the test machines) the cluster runs as the ``postgres`` user the package made,
since PostgreSQL refuses to run as root; as anyone else, as that user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile

USER, PASSWORD = "kc", "s3cret-Pa55"


def bin_dir() -> str | None:
    """The newest installed PostgreSQL's programs, or ``None``."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return os.path.dirname(found[-1]) if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def temporary_postgres():
    """Yields ``postgresql://kc:PASSWORD@127.0.0.1:PORT/postgres`` of a fresh server."""
    programs = bin_dir()
    if programs is None:
        raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql; "
                           "make test does it)")
    root = os.geteuid() == 0
    as_user = ["runuser", "-u", "postgres", "--"] if root else []
    folder = tempfile.mkdtemp(prefix="kerascraft-pg-")
    os.chmod(folder, 0o755)
    if root:
        shutil.chown(folder, "postgres")
    data, log = os.path.join(folder, "data"), os.path.join(folder, "server.log")
    pwfile = os.path.join(folder, "pw")
    with open(pwfile, "w") as f:
        f.write(PASSWORD + "\n")
    if root:
        shutil.chown(pwfile, "postgres")
    port = _free_port()
    run = dict(check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
               cwd=folder)
    try:
        subprocess.run([*as_user, f"{programs}/initdb", "-D", data, "-U", USER,
                        f"--pwfile={pwfile}", "-A", "scram-sha-256", "-N", "-E", "UTF8"], **run)
        subprocess.run([*as_user, f"{programs}/pg_ctl", "-D", data, "-l", log, "-w", "-t", "60",
                        "-o", f"-p {port} -k {folder} -h 127.0.0.1 -F -c max_connections=200",
                        "start"], **run)
    except subprocess.CalledProcessError as err:
        server_log = open(log).read() if os.path.exists(log) else ""
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {err.stdout}\n{server_log}") from None
    try:
        yield f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, f"{programs}/pg_ctl", "-D", data, "-m", "immediate", "-w",
                        "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       cwd=folder)
        keep = os.environ.get("KERASCRAFT_PG_LOG")  # where to keep the server's log
        if keep and os.path.exists(log):
            shutil.copy(log, keep)
        shutil.rmtree(folder, ignore_errors=True)


def create_database(url: str, name: str) -> str:
    """A new database on the server of ``url``; its URL."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://"),
                                      isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.rsplit("/", 1)[0] + f"/{name}"
