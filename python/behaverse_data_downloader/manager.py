"""``BehaverseDataDownloader``, the original tool's documented class, on bdd's engine.

The documented calls keep their names, arguments and result keys:

- ``BehaverseDataDownloader(config_path="settings/default_config.json")``: the folder holding
  ``settings/`` is the working directory (``study_configs/``, ``.env``, ``data/``), as
  ``bdd -C`` names it; the relative default is the current directory, as in the original.
- ``download_study(study, incremental=False, progress_callback=None)`` returns ``{"success",
  "message", "events_count", "save_path"}`` and, as in the original, reports failures there
  instead of raising (``message`` is the CLI's one-line error). Ctrl-C still raises
  KeyboardInterrupt, after the current commit. ``progress_callback`` gets ``{"study_name",
  "page", "events_in_page", "total_events"}`` after every page.
- ``load_study_events(study)`` returns the stored events, a list of dicts (which also allow
  ``event.event_type``, as the original's EventData did); ``[]`` when nothing is stored.
- ``get_study_info(study)`` returns ``{"name", "format", "organization", "local_events",
  "last_update", "has_local_data", "status"}`` with the original's ``status`` texts.

Differences, all deliberate: every download resumes exactly where the last one stopped and
ends with exactly the server's events, so ``incremental=False`` does not download everything
again (``bdd.Study(...).download(fresh=True)`` does); ``save_path`` is the study's folder;
``events_count`` counts the events this run stored (never duplicates); events carry ``user_id``
besides the original's fields; a damaged local copy raises :class:`bdd.StorageError` instead
of loading as ``[]``. The original's other methods (``get_studies``, ``check_updates``,
``export_study_data``, ``delete_study_data``, ...) are not provided: the ``bdd`` command does
each of those (``bdd remote``, ``bdd fetch``, ``bdd export``, ``bdd rm``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import bdd


class BehaverseDataDownloader:
    """Downloads and loads the studies configured under one working directory."""

    def __init__(self, config_path: str = "settings/default_config.json",
                 study_name: Optional[str] = None) -> None:
        path = Path(config_path)
        if path.name != "default_config.json" or path.parent.name != "settings":
            raise bdd.ConfigError(
                f'"{config_path}": bdd reads the settings/default_config.json of a working '
                'directory; pass "<dir>/settings/default_config.json", or use '
                'bdd.Study(study, workdir="<dir>")')
        self.config_path = config_path
        self.study_name = study_name
        self.workdir = path.parent.parent.absolute()

    def _study(self, study_name: str) -> bdd.Study:
        return bdd.Study(study_name, workdir=self.workdir)

    def download_study(self, study_name: str, incremental: bool = False,
                       progress_callback: Optional[Callable[[Dict[str, Any]], None]] = None
                       ) -> Dict[str, Any]:
        """Download what is new for ``study_name``; returns ``{"success", "message",
        "events_count", "save_path"}`` (failures too, as the original did)."""
        del incremental  # every bdd download is exact and resumes; see the module's docstring
        pages = {"page": 0, "received": 0}

        def report(progress: bdd.Progress) -> None:
            pages["page"] += 1
            in_page = progress.events_received - pages["received"]
            pages["received"] = progress.events_received
            progress_callback({"study_name": study_name, "page": pages["page"],
                               "events_in_page": in_page,
                               "total_events": progress.events_received})

        try:
            summary = self._study(study_name).download(
                progress=report if progress_callback is not None else None)
        except bdd.Error as error:
            return {"success": False, "message": str(error), "events_count": 0,
                    "save_path": None}
        if summary.events_added == 0:
            return {"success": True, "message": "No new events found", "events_count": 0,
                    "save_path": None}
        return {"success": True, "message": f"Saved {summary.events_added} events",
                "events_count": summary.events_added, "save_path": str(summary.study_dir)}

    def load_study_events(self, study_name: str) -> List[bdd.Event]:
        """Every stored event of ``study_name`` in stored-time order; ``[]`` if none."""
        try:
            return list(self._study(study_name).events())
        except bdd.UsageError:  # never downloaded (or not a study name): as the original
            return []

    def get_study_info(self, study_name: str) -> Dict[str, Any]:
        """What is stored locally for ``study_name``, with the original's keys."""
        info: Dict[str, Any] = {"name": study_name, "format": None, "organization": "by_study",
                                "local_events": 0, "last_update": None,
                                "has_local_data": False, "status": "No local data"}
        try:
            status = self._study(study_name).status()
        except bdd.Error as error:
            info["status"] = f"Error checking local data: {error}"
            return info
        info["format"] = status.format
        if status.downloaded:
            info.update(local_events=status.events_stored, last_update=status.last_update,
                        has_local_data=True,
                        status="Has local data (can use incremental update)")
        return info


__all__ = ["BehaverseDataDownloader"]
