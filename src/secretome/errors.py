"""Errors raised for user mistakes (bad files, unknown names).

The CLI prints these as one clear message and exits non-zero, with no traceback.
Anything else that escapes is a bug in secretome and keeps its traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


class SecretomeError(Exception):
    """A user-facing error: bad input that the user can fix."""


@dataclass(frozen=True)
class Problem:
    """One problem found while validating a file.

    Attributes
    ----------
    where : str
        File name, and row or line, e.g. ``"evidence.csv, row 4 (id=x)"``.
    field : str
        The column, field or name at fault ("" when the whole record is).
    message : str
        What is wrong, in words a user can act on.
    """

    where: str
    field: str
    message: str

    def __str__(self) -> str:
        field = f", field '{self.field}'" if self.field else ""
        return f"{self.where}{field}: {self.message}"


class ValidationError(SecretomeError):
    """A file failed validation; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem], what: str = "input") -> None:
        self.problems = list(problems)
        n = len(self.problems)
        header = f"{what}: {n} problem{'s' if n != 1 else ''} found"
        super().__init__("\n".join([header, *(f"  - {p}" for p in self.problems)]))


class SimulationFailed(SecretomeError):
    """The integrator failed, stalled, blew up or produced non-finite values.

    Raised by every simulation backend for one parameter set; fits and
    sensitivity analyses count such sets as failures instead of stopping.
    """
