"""Errors a user can act on. The CLI prints them as one line; ``--debug`` shows the traceback."""

from __future__ import annotations


class SpscError(Exception):
    """An error with what went wrong, where, and what to do about it.

    Args:
        what: what went wrong, in a few words.
        where: the file, table or setting concerned (optional).
        hint: what the user can do (optional).
    """

    def __init__(self, what: str, where: str | None = None, hint: str | None = None):
        self.what = what
        self.where = where
        self.hint = hint
        super().__init__(self.one_line())

    def one_line(self) -> str:
        parts = [f"{self.where}: {self.what}" if self.where else self.what]
        if self.hint:
            parts.append(self.hint)
        return "; ".join(parts)


class WarehouseBusy(SpscError):
    """Another process holds the DuckDB write lock."""


class RejectedFile(SpscError):
    """A raw file that cannot be read at all; the warehouse is left as it was."""


class UnknownName(SpscError):
    """A municipality name that matches nothing in the reference table."""


class AmbiguousName(SpscError):
    """A municipality name that matches look-alikes; the normaliser refuses to guess."""


class SecretMissing(SpscError):
    """The pseudonymisation secret is gone while the warehouse holds pseudonyms made with it."""
