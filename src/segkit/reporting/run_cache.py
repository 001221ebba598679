"""A report run's cache on disk: what one notebook computed, the next one reads.

Every report notebook runs in its own kernel, so the churn model a quarterly report trains
would be trained again by the English copy, and again by the churn report. ``segkit report``
therefore gives its notebooks a cache folder (``<out>/.segkit-cache/``, through the
environment variable :data:`ENV`); :class:`~segkit.reporting.context.ReportContext` looks a
result up there before computing it and stores it afterwards. Without the variable (an
analyst's notebook in JupyterLab) nothing is cached on disk.

* An entry is a folder named by a key, the hash of everything the result depends on: the
  data's fingerprint (:meth:`segkit.io.Dataset.fingerprint`) and as-of date, the effective
  configuration's hash, the dates and settings of the computation, the versions of segkit,
  pandas and scikit-learn and a hash of segkit's own source (an edited checkout never reads a
  result of older code). A different input is a different key, never a stale hit.
* Tables are Parquet (with the dtypes pandas would not restore by itself noted beside them),
  small values JSON. Both are data: reading them runs no code.
* A fitted model is a pickle, and unpickling runs code. It is only loaded when its HMAC-SHA256
  signature verifies with a key that segkit created for this user (``run-cache.key``, mode
  0600, in ``$XDG_CACHE_HOME/segkit`` or ``~/.cache/segkit``) over the entry's key and the
  bytes: a pickle that segkit did not write for this user, copied into an output folder or
  pointed at through the variable, is ignored and the model is trained again. Where that key
  cannot be kept (a read-only home), models are not cached.
* Writes go to a temporary folder renamed into place, so a reader sees a whole entry or none.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import pickle
import secrets
import shutil
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["ENV", "RunCache", "cache_key"]

#: Environment variable naming the run cache folder (set by ``segkit report`` for its kernels).
ENV = "SEGKIT_RUN_CACHE"
_KEY_BYTES = 32
_MODEL = "model.pkl"
_META = "meta.json"


@lru_cache(maxsize=1)
def _code_version() -> str:
    """segkit, pandas and scikit-learn versions and a hash of segkit's source and defaults."""
    import sklearn

    from segkit._version import __version__

    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(p for p in package.rglob("*") if p.suffix in (".py", ".yaml") and p.is_file()):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return f"segkit {__version__}, pandas {pd.__version__}, scikit-learn {sklearn.__version__}, source {digest.hexdigest()[:16]}"


def tier_health_key(quarter: str, data_dir: Any, config: Any = None) -> str:
    """The key under which a report's kernel leaves its quarter's tier health for the
    ``segkit report`` command that started it (which then needs no tiers of its own)."""
    return cache_key(kind="tier-health", quarter=str(quarter).upper(), data=str(Path(data_dir).resolve()),
                     config=str(Path(config).resolve()) if config else None)


def cache_key(**parts: Any) -> str:
    """A key for the result of a computation described by ``parts`` (JSON-able values;
    dates as text), including the code that computes it.

    Examples
    --------
    >>> a = cache_key(kind="model", data="3f2a", config="b7c1", as_of="2026-09-30")
    >>> a == cache_key(as_of="2026-09-30", config="b7c1", data="3f2a", kind="model"), len(a)
    (True, 32)
    >>> a == cache_key(kind="model", data="3f2a", config="b7c2", as_of="2026-09-30")
    False
    """
    text = json.dumps({**parts, "code": _code_version()}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _signing_key() -> bytes | None:
    """This user's secret for signing cached models, created on first use; None if it cannot be kept."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "segkit"
    path = base / "run-cache.key"
    try:
        base.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(_KEY_BYTES))
        key = path.read_bytes()
    except OSError:
        return None
    return key if len(key) == _KEY_BYTES else None


def _signature(secret: bytes, key: str, data: bytes) -> str:
    return hmac.new(secret, key.encode("ascii") + b"\0" + data, hashlib.sha256).hexdigest()


def _encode(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return {"__timestamp__": value.isoformat()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        return value.item()
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__timestamp__"}:
            return pd.Timestamp(value["__timestamp__"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _object_columns(frame: pd.DataFrame) -> dict[str, Any]:
    """What Parquet does not bring back as it was: object columns and an object index."""
    return {
        "columns": [str(c) for c in frame.columns if frame[c].dtype == object],
        "index": [i for i, level in enumerate(getattr(frame.index, "levels", [frame.index])) if level.dtype == object],
    }


def _restore(frame: pd.DataFrame, objects: dict[str, Any]) -> pd.DataFrame:
    for column in objects["columns"]:
        frame[column] = frame[column].astype(object)
    if objects["index"]:
        if isinstance(frame.index, pd.MultiIndex):
            frame.index = frame.index.set_levels([frame.index.levels[i].astype(object) for i in objects["index"]],
                                                 level=objects["index"])
        else:
            frame.index = frame.index.astype(object)
    return frame


class RunCache:
    """Results of one report run, in a folder: tables, small values and signed models.

    Parameters
    ----------
    root : path
        The cache folder; created on the first write.

    Examples
    --------
    >>> import tempfile
    >>> cache = RunCache(tempfile.mkdtemp())
    >>> key = cache_key(kind="example")
    >>> cache.load(key) is None
    True
    >>> cache.store(key, {"t": pd.DataFrame({"x": [1.5, 2.5]})}, {"as_of": pd.Timestamp("2026-09-30")})
    >>> frames, meta = cache.load(key)
    >>> frames["t"]["x"].tolist(), meta["as_of"]
    ([1.5, 2.5], Timestamp('2026-09-30 00:00:00'))
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).absolute()

    @classmethod
    def from_env(cls) -> RunCache | None:
        """The cache named by :data:`ENV`, or None when it is not set."""
        value = os.environ.get(ENV)
        return cls(value) if value else None

    def __repr__(self) -> str:
        return f"RunCache({str(self.root)!r})"

    def _entry(self, key: str) -> Path:
        if not (len(key) == 32 and all(c in "0123456789abcdef" for c in key)):
            raise ValueError(f"not a cache key: {key!r}")
        return self.root / key

    def _publish(self, key: str, write) -> None:
        """Write an entry into a temporary folder, then rename it into place."""
        self.root.mkdir(parents=True, exist_ok=True)
        target = self._entry(key)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.root))
        try:
            write(tmp)
            try:
                os.replace(tmp, target)
            except OSError:  # another process published the same entry first: keep theirs
                pass
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def discard(self, key: str) -> None:
        """Remove the entry under ``key``, if any (before a run that must write it afresh)."""
        shutil.rmtree(self._entry(key), ignore_errors=True)

    # -- tables and values -----------------------------------------------------------------------
    def store(self, key: str, frames: dict[str, pd.DataFrame], meta: dict[str, Any] | None = None) -> None:
        """Store tables (Parquet) and JSON-able values (Timestamps allowed) under ``key``."""

        def write(folder: Path) -> None:
            objects = {}
            for name, frame in frames.items():
                plain = frame.copy(deep=False)
                plain.attrs = {}  # attrs travel in the JSON, not in the Parquet metadata
                plain.to_parquet(folder / f"{name}.parquet", engine="pyarrow")
                objects[name] = _object_columns(frame)
                objects[name]["attrs"] = _encode(frame.attrs)
            payload = {"frames": objects, "meta": _encode(meta or {})}
            (folder / _META).write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")

        self._publish(key, write)

    def load(self, key: str) -> tuple[dict[str, pd.DataFrame], dict[str, Any]] | None:
        """``(tables, values)`` stored under ``key``, or None."""
        folder = self._entry(key)
        try:
            payload = json.loads((folder / _META).read_text(encoding="utf-8"))
            frames = {}
            for name, objects in payload["frames"].items():
                frame = _restore(pd.read_parquet(folder / f"{name}.parquet", engine="pyarrow"), objects)
                frame.attrs = _decode(objects["attrs"])
                frames[name] = frame
        except (OSError, ValueError, KeyError):
            return None
        return frames, _decode(payload["meta"])

    # -- models ----------------------------------------------------------------------------------
    def store_model(self, key: str, model: Any) -> bool:
        """Store a fitted model, signed; False (nothing stored) when no signing key can be kept."""
        secret = _signing_key()
        if secret is None:
            return False
        data = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)

        def write(folder: Path) -> None:
            (folder / _MODEL).write_bytes(data)
            (folder / _META).write_text(json.dumps({"signature": _signature(secret, key, data)}), encoding="utf-8")

        self._publish(key, write)
        return True

    def load_model(self, key: str) -> Any | None:
        """The model stored under ``key`` if its signature verifies, else None."""
        secret = _signing_key()
        folder = self._entry(key)
        if secret is None:
            return None
        try:
            data = (folder / _MODEL).read_bytes()
            signature = json.loads((folder / _META).read_text(encoding="utf-8"))["signature"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not isinstance(signature, str) or not hmac.compare_digest(signature, _signature(secret, key, data)):
            return None
        return pickle.loads(data)  # noqa: S301 - signed by this user's segkit key, see the module docstring

    # -- housekeeping ----------------------------------------------------------------------------
    def prune(self, older_than_days: float = 30.0) -> int:
        """Remove entries not written for ``older_than_days``; returns how many."""
        if not self.root.is_dir():
            return 0
        limit = time.time() - older_than_days * 86400.0
        removed = 0
        for entry in self.root.iterdir():
            try:
                if entry.is_dir() and entry.stat().st_mtime < limit:
                    shutil.rmtree(entry, ignore_errors=True)
                    removed += 1
            except OSError:
                continue
        return removed
