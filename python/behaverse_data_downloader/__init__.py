"""The original Behaverse Data Downloader's programmatic API, on bdd's engine.

``from behaverse_data_downloader.manager import BehaverseDataDownloader`` works as in the
original tool (README "Programmatic Usage"); see :mod:`behaverse_data_downloader.manager` for
what differs. New code should use :class:`bdd.Study`.
"""

from .manager import BehaverseDataDownloader

__all__ = ["BehaverseDataDownloader"]
