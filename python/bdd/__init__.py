"""bdd from Python: the engine of the ``bdd`` command as a library.

    import bdd
    s = bdd.Study("my-study", workdir="/srv/behaverse")   # workdir: what `bdd -C` names
    summary = s.download()                                # incremental, crash-safe
    for event in s.events(since="2025-11-01", users=["user_A"]):
        ...
    frame = s.to_pandas(flatten=True)

Everything reads the same configs, ``.env`` and study folders as the CLI, and takes the same
locks, so the CLI and Python can be used on one study in turn. Failures raise a subclass of
:class:`bdd.Error` carrying the CLI's one-line message (never an API key); Ctrl-C during a
download stops it after its current commit and raises ``KeyboardInterrupt``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Union

from . import _native

__all__ = [
    "Study", "DownloadSummary", "Progress", "Status", "VerifyReport", "Finding", "Event",
    "Error", "UsageError", "ConfigError", "AuthError", "NotFoundError", "BadRequestError",
    "NetworkError", "ProtocolError", "StorageError", "LockedError", "InterruptedError",
    "InternalError", "UnusableDataError",
]


class Error(Exception):
    """A failure of bdd, with the CLI's one-line message and its kind ("auth", "storage", ...)."""

    kind = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(Error):
    """A bad argument: an invalid study name or time, a study never downloaded (CLI exit 2)."""
    kind = "usage"


class ConfigError(Error):
    """An invalid or missing configuration, or no API key (CLI exit 3)."""
    kind = "config"


class AuthError(Error):
    """The server refused the key (HTTP 401/403; CLI exit 4)."""
    kind = "auth"


class NotFoundError(Error):
    """The server does not know the study (HTTP 404), or bdd knows nothing of it (CLI exit 5)."""
    kind = "not_found"


class BadRequestError(Error):
    """The server rejected bdd's parameters (HTTP 400/422)."""
    kind = "bad_request"


class NetworkError(Error):
    """The server could not be reached, or kept failing, after every retry (CLI exit 6)."""
    kind = "network"


class ProtocolError(Error):
    """The server answered with a body bdd cannot use, after every retry (CLI exit 6)."""
    kind = "protocol"


class StorageError(Error):
    """The local files: a full disk, permissions, a damaged copy (CLI exit 8)."""
    kind = "storage"


class LockedError(Error):
    """Another download of the study is running (CLI exit 7)."""
    kind = "locked"


class InterruptedError(Error):  # bdd.InterruptedError, not the builtin (an OSError)
    """Stopped by a signal that Python did not turn into KeyboardInterrupt (CLI exit 130)."""
    kind = "interrupted"


class InternalError(Error):
    """A bug in bdd."""
    kind = "internal"


class UnusableDataError(Error):
    """The server sent items that are not usable events (quarantined; CLI exit 11)."""
    kind = "unusable_data"


_ERRORS = {cls.kind: cls for cls in (
    UsageError, ConfigError, AuthError, NotFoundError, BadRequestError, NetworkError,
    ProtocolError, StorageError, LockedError, InterruptedError, InternalError,
    UnusableDataError)}


def _checked(result: Dict[str, Any]) -> Dict[str, Any]:
    error = result.get("error")
    if error is not None:
        raise _ERRORS.get(error["kind"], InternalError)(error["message"])
    return result


@dataclass(frozen=True)
class Progress:
    """Reported after every page of a download."""
    events_received: int  # this run, duplicates included
    events_added: int
    offset: int  # server positions consumed
    remote_total: Optional[int]


@dataclass(frozen=True)
class DownloadSummary:
    """What one download did (the fields of ``bdd download --json`` of the same names)."""
    events_received: int
    events_added: int
    duplicates_skipped: int
    events_stored: int  # in the local copy after the run
    study_dir: Path


@dataclass(frozen=True)
class Status:
    """What is stored locally (``bdd status``); reads metadata only."""
    downloaded: bool
    events_stored: int
    remote_total: Optional[int]  # the server's total at the last download
    last_update: Optional[str]  # UTC ISO-8601 of the last commit
    newest_stored_timestamp: Optional[str]
    format: str  # of the local copy; of the config when not downloaded
    folder_structure: List[str]
    study_dir: Path


@dataclass(frozen=True)
class Finding:
    """One problem ``verify`` found (README, "Verifying and repairing", lists the kinds)."""
    kind: str
    file: str
    line: int
    id: str
    message: str
    error: bool  # False for a warning


@dataclass(frozen=True)
class VerifyReport:
    """The result of ``bdd verify``: ``ok`` when no finding is an error."""
    ok: bool
    events: int
    files: int
    findings: List[Finding] = field(default_factory=list)
    study_dir: Optional[Path] = None


class Event(dict):
    """One stored event: a dict with the keys id, study_name, user_id, event_type, element_id,
    timestamp, stored_timestamp, page_url and data (the server's event, unchanged), as ``bdd
    export --format jsonl`` writes it. Its keys are also attributes (``event.event_type``), as
    the original tool's EventData had them."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


_TIME_COLUMNS = ("timestamp", "stored_timestamp")
_TEXT_COLUMNS = ("id", "study_name", "user_id", "event_type", "element_id", "page_url")
_COLUMNS = ("id", "study_name", "user_id", "event_type", "element_id", "timestamp",
            "stored_timestamp", "page_url", "data")


def _as_list(values: Union[None, str, Iterable[str]]) -> List[str]:
    if values is None:
        return []
    if isinstance(values, str):
        return [values]
    return list(values)


def _no_text(value: str) -> Optional[str]:
    return value or None


class Study:
    """One study, configured under ``workdir`` exactly as for ``bdd -C <workdir> ...``: its
    ``study_configs/<name>.json``, ``settings/default_config.json`` and ``.env``, and its folder
    under ``storage.data_directory``.

    Each call reads the configuration and the environment (``BEHAVERSE_API_KEY_<STUDY>``, ...)
    afresh, so a key set in ``os.environ`` after the object was made is used.
    """

    def __init__(self, name: str, workdir: Union[str, os.PathLike] = ".") -> None:
        self.name = name
        self.workdir = Path(workdir).absolute()

    def __repr__(self) -> str:
        return f"bdd.Study({self.name!r}, workdir={str(self.workdir)!r})"

    def _native(self) -> _native.Downloader:
        return _native.Downloader(str(self.workdir))

    def download(self, fresh: bool = False,
                 progress: Optional[Callable[[Progress], None]] = None) -> DownloadSummary:
        """Download what is new on the server (``bdd download``; ``fresh=True`` is
        ``--fresh``: everything again, into a new folder swapped in when complete).

        ``progress`` is called with a :class:`Progress` after every page, on the calling thread.
        Ctrl-C (or an exception raised by ``progress``) stops the download after its current
        commit, then raises; the next download continues exactly where it stopped. Raises
        :class:`AuthError`, :class:`NotFoundError`, :class:`NetworkError`,
        :class:`LockedError`, :class:`StorageError`, ... with the CLI's message.
        """
        callback = None
        if progress is not None:
            def callback(report: Dict[str, Any]) -> None:
                progress(Progress(**report))
        result = _checked(self._native().download(self.name, fresh, callback))
        return DownloadSummary(result["events_received"], result["events_added"],
                               result["duplicates_skipped"], result["events_stored"],
                               Path(result["study_dir"]))

    def status(self) -> Status:
        """What is stored locally (``bdd status``), from the metadata only: fast at any size."""
        result = _checked(self._native().status(self.name))
        return Status(result["downloaded"], result["events_stored"], result["remote_total"],
                      _no_text(result["last_update"]),
                      _no_text(result["newest_stored_timestamp"]), result["format"],
                      list(result["folder_structure"]), Path(result["study_dir"]))

    def history(self) -> List[Dict[str, Any]]:
        """Every download run, oldest first, each a dict with the fields of ``bdd log --json``
        (run_id, started_at, ended_at, type, status, events_received, events_added, ...)."""
        result = _checked(self._native().history(self.name))
        return [json.loads(run) for run in result["runs"]]

    def verify(self, remote: bool = False) -> VerifyReport:
        """Check that the local copy is complete and intact (``bdd verify``, ``remote=True`` is
        ``--remote``). Problems with the data are findings (``ok`` False), not exceptions;
        exceptions are for what stops the check (no local data: :class:`UsageError`)."""
        result = _checked(self._native().verify(self.name, remote))
        findings = [Finding(**item) for item in result["findings"]]
        return VerifyReport(result["ok"], result["events"], result["files"], findings,
                            Path(result["study_dir"]))

    def events(self, since: Optional[str] = None, until: Optional[str] = None,
               users: Union[None, str, Iterable[str]] = None,
               event_types: Union[None, str, Iterable[str]] = None,
               time_field: str = "timestamp") -> Iterator[Event]:
        """The stored events (never the server's), lazily, as :class:`Event` dicts, each once,
        with flat memory whatever the study's size, in ``bdd export``'s order: stored time,
        then id (the server's order, except among events stored at the same instant, whose
        order on the server the local copy does not record).

        The filters are ``bdd export``'s: ``since`` (inclusive) and ``until`` (exclusive) are
        ISO-8601 times or dates (``"2025-11-18"``, ``"2025-11-18T10:00:00+01:00"``), applied to
        ``timestamp`` or, with ``time_field="stored"``, to ``stored_timestamp``; ``users`` and
        ``event_types`` keep events whose user_id / event_type is one of those given. A bad
        time, a study never downloaded or an unfinished commit raise here, before the first
        event; a damaged file raises :class:`StorageError` when reached. While it reads (a few
        thousand events ahead of you) it holds the study's lock shared: a download of the study
        started then fails with :class:`LockedError`. ``close()`` it, or drop it, to stop.
        """
        if time_field not in ("timestamp", "stored"):
            raise UsageError(f'time_field: unknown value "{time_field}" '
                             '(use "timestamp" or "stored")')
        reader = self._native().events(self.name, since, until, time_field == "stored",
                                       _as_list(users), _as_list(event_types))
        _checked({"error": reader.error})
        return _iterate(reader)

    def to_pandas(self, since: Optional[str] = None, until: Optional[str] = None,
                  users: Union[None, str, Iterable[str]] = None,
                  event_types: Union[None, str, Iterable[str]] = None,
                  time_field: str = "timestamp", flatten: bool = False):
        """The events :meth:`events` yields, as a pandas DataFrame: one row per event in that
        order; id, study_name, user_id, event_type, element_id and page_url as pandas strings,
        timestamp and stored_timestamp as ``datetime64[ns, UTC]`` (NaT when absent or not a
        time), and ``data`` as dicts, or with ``flatten=True`` one column per scalar of ``data``
        named as ``bdd export --flatten`` names it (``data.`` and the keys joined by ``.``, a
        ``.`` or ``\\`` inside a key escaped with ``\\``; an array is one column holding the
        list, ``{}`` one holding ``{}``), in the order first seen. Needs pandas (Debian:
        python3-pandas); raises ImportError saying so when it is missing."""
        try:
            import pandas as pd
        except ImportError as error:
            raise ImportError("bdd.Study.to_pandas needs pandas: install it (Debian: apt install "
                              "python3-pandas; or pip install pandas)") from error
        columns: Dict[str, list] = {name: [] for name in _COLUMNS}
        for event in self.events(since, until, users, event_types, time_field):
            for name in _COLUMNS:
                columns[name].append(event.get(name))
        frame = pd.DataFrame({name: columns[name] for name in _COLUMNS if name != "data"})
        for name in _TEXT_COLUMNS:
            frame[name] = frame[name].astype("string")
        for name in _TIME_COLUMNS:
            frame[name] = pd.to_datetime(frame[name], utc=True, errors="coerce")
        if flatten:
            rows = []
            for data in columns["data"]:
                row: Dict[str, Any] = {}
                _flatten(data, "data", row)
                rows.append(row)
            flat = pd.DataFrame.from_records(rows, index=frame.index) if rows else pd.DataFrame()
            frame = pd.concat([frame, flat], axis=1)
        else:
            frame["data"] = pd.Series(columns["data"], dtype=object)
        return frame


def _flatten(value: Any, path: str, row: Dict[str, Any]) -> None:
    """The scalars of ``value`` into ``row``, under export's column names (export/flatten.hpp)."""
    if isinstance(value, dict) and value:
        for key, member in value.items():
            escaped = key.replace("\\", "\\\\").replace(".", "\\.")
            _flatten(member, f"{path}.{escaped}", row)
    else:
        row[path] = value


def _iterate(reader: _native.EventReader) -> Iterator[Event]:
    loads = json.loads
    while True:
        batch = reader.next_batch()
        if not batch:
            _checked({"error": reader.error})
            return
        for text in batch:
            yield Event(loads(text))
