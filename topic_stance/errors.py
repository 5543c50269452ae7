"""The project's exceptions: library code raises these (or built-ins), never SystemExit.

`cli.py` is the one place that turns an exception into a message and an exit status, so a
host application that imports the library can catch every failure with `except Exception`.
"""

from __future__ import annotations


class TopicStanceError(Exception):
    """Base class: a refused action or bad input that the user can fix; the message says how."""


class ModelFolderError(TopicStanceError, ValueError):
    """A model folder is missing, incomplete, corrupted or of an unknown kind."""


class UnsupportedSetting(TopicStanceError, ValueError):
    """A device, precision or size this machine or this model cannot use."""
