"""One directory holding a craft() run: a manifest of the stages done and the files they
left, every file written atomically, all of it tied to one fingerprint of the data.

``craft.json`` (the manifest) names the data's fingerprint, the task, and per stage the
settings it ran with, when, in how many seconds and what it decided. A file is written to a
temporary name and renamed, so a kill leaves the old version or the new, never half of one;
a stage is recorded as done only after its files are in place.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import pickle
import shutil
import time

import numpy as np

from kerascraft.errors import InputError

log = logging.getLogger("kerascraft.workflow")

MANIFEST = "craft.json"
VERSION = 2


class Store:
    """The saved work of the craft() run in ``directory`` on data ``fingerprint``."""

    def __init__(self, directory: str, fingerprint: str):
        self.directory = directory
        data = _read_json(self.path(MANIFEST)) or {}
        if data.get("version") == 1:
            data = _from_version_1(data, self)
        if data.get("fingerprint", fingerprint) != fingerprint:
            raise InputError(
                f"{directory!r} holds a craft() run on other data or other split settings; "
                "its work does not apply. Use another directory, or overwrite=True to "
                "replace it.")
        self.data = {"version": VERSION, "fingerprint": fingerprint, "stages": {}, **data}
        self.data["version"] = VERSION

    @classmethod
    def open(cls, directory: str, fingerprint: str, overwrite: bool = False) -> "Store":
        """The store in ``directory`` (made, or emptied first with ``overwrite``); its
        manifest is written at once, so no file is ever kept without its data's id."""
        if overwrite and os.path.isdir(directory):
            shutil.rmtree(directory)
        os.makedirs(directory, exist_ok=True)
        store = cls(directory, fingerprint)
        store.save()
        return store

    @classmethod
    def existing(cls, directory: str) -> "Store":
        """The store in ``directory`` as it is, to read (whatever its data)."""
        return cls(directory, (_read_json(os.path.join(directory, MANIFEST)) or {}).get(
            "fingerprint"))

    def path(self, name: str) -> str:
        return os.path.join(self.directory, name)

    # -- the manifest
    def record(self, stage: str) -> dict | None:
        """What ``stage`` recorded when it last finished (None: it never did)."""
        return self.data["stages"].get(stage)

    def begin(self, stage: str, settings: dict):
        """Record the settings ``stage`` starts its work with, before any of it is saved:
        a run killed in the middle is then checked as a finished one is."""
        self.data.setdefault("started", {})[stage] = as_json(settings)
        self.save()

    def started(self, stage: str) -> dict | None:
        """The settings ``stage`` last finished or started with (None: neither)."""
        record = self.record(stage)
        if record is not None:
            return record["settings"]
        return self.data.get("started", {}).get(stage)

    def finish(self, stage: str, settings: dict, seconds: float, reused: bool, **decided):
        """Record ``stage`` as done with ``settings``, keeping what it ``decided``."""
        self.data["stages"][stage] = {"settings": as_json(settings), "seconds": seconds,
                                      "reused": reused, "finished": time.time(),
                                      **as_json(decided)}
        self.save()

    def set(self, **values):
        self.data.update(as_json(values))
        self.save()

    def save(self):
        _write_atomic(self.path(MANIFEST), lambda f: f.write(
            json.dumps(self.data, indent=1).encode()))

    # -- files
    def write_arrays(self, name: str, **arrays):
        _write_atomic(self.path(name), lambda f: np.savez(f, **arrays))

    def read_arrays(self, name: str) -> dict | None:
        """The arrays saved as ``name``; None when there is no such file, or (with a
        warning naming the file and the error) when it cannot be read."""
        def read(path):
            with np.load(path) as f:
                return {k: f[k] for k in f.files}

        return self._read(name, read)

    def write_json(self, name: str, value):
        _write_atomic(self.path(name), lambda f: f.write(
            json.dumps(as_json(value), indent=1).encode()))

    def read_json(self, name: str):
        """The JSON saved as ``name``; None as :meth:`read_arrays`."""
        def read(path):
            with open(path) as f:
                return json.load(f)

        return self._read(name, read)

    def write_pickle(self, name: str, value):
        """``value`` pickled and compressed (gzip, level 1: the cheap models' extra trees of a
        9,600-row table are 120 MB as pickled, 44 MB so, written in about a second)."""
        def write(f):
            with gzip.GzipFile(fileobj=f, mode="wb", compresslevel=1, mtime=0) as z:
                pickle.dump(value, z, protocol=pickle.HIGHEST_PROTOCOL)

        _write_atomic(self.path(name), write)

    def read_pickle(self, name: str):
        """The object pickled as ``name`` (compressed, or plain as earlier releases wrote
        it); None as :meth:`read_arrays`."""
        def read(path):
            with open(path, "rb") as f:
                compressed = f.read(2) == b"\x1f\x8b"
            with (gzip.open if compressed else open)(path, "rb") as f:
                return pickle.load(f)

        return self._read(name, read)

    def _read(self, name, read):
        path = self.path(name)
        if not os.path.exists(path):
            return None
        try:
            return read(path)
        except Exception as err:  # noqa: BLE001 - a class that moved, another library release
            log.warning(f"{path} could not be read ({type(err).__name__}: {err}); its work "
                        "is done again.")
            return None


def as_json(value):
    """``value`` as it reads back from JSON (tuples become lists, NumPy numbers plain), so
    that settings compare equal after a round trip."""
    return json.loads(json.dumps(value, default=_plain))


def _plain(v):
    if hasattr(v, "item"):
        return v.item()
    if hasattr(v, "tolist"):
        return v.tolist()
    return repr(v)


def _write_atomic(path: str, write):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        write(f)
    os.replace(tmp, path)


def _read_json(path: str):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def _from_version_1(data: dict, store: Store) -> dict:
    """A directory of an earlier kerascraft (a ``craft.json`` without stage records): its
    split and set-up are taken as done; the search and retraining find their own files."""
    stages = {}
    if os.path.exists(store.path("split.npz")):
        stages["split"] = {"settings": {}, "seconds": 0.0, "reused": False}
    if "setup" in data:
        stages["setup"] = {"settings": None, "seconds": 0.0, "reused": False,
                           "setup": data["setup"]}
    return {"fingerprint": data.get("fingerprint"), "task": data.get("task"),
            "classes": data.get("classes"), "stages": stages}
