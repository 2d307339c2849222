"""CLI verbs of the ingest stage: importing this module registers them on ``pipeline.cli``."""

import importlib

from pipeline.ingest.attendance import commands as attendance_commands  # noqa: F401

try:
    importlib.import_module("pipeline.ingest.survey.commands")
except ModuleNotFoundError as exc:  # the survey verbs may not be there yet
    if exc.name != "pipeline.ingest.survey.commands":
        raise
