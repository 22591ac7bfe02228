"""Exceptions that the CLI turns into a one-line message and a non-zero exit (no traceback), and the
classification of failures inside a run.

Two kinds of failure become error rows in a run, and only one of them may be cached:

- **input property** (the images are too small for the method, the method does not take N sources,
  the metric is undefined on a constant image): the same inputs with the same method/metric
  versions fail again, so the error is cached with those versions (``--retry-errors`` recomputes);
- **environment** (missing or corrupt weights, missing data files, an unknown registry entry, a
  module or plugin that failed to import, out of memory, an OS/disk error, a killed worker, an
  interrupt): fixing the
  environment must fix the row on the next run without any flag, so these are never cached.

:func:`is_environmental` decides for an exception, :func:`is_environmental_message` for the one-line
message a worker sent back (workers prefix environmental failures with :data:`ENV_PREFIX`).
"""

from __future__ import annotations

ENV_PREFIX = "environment: "

# exception type names (as they start a one-line message "Name: text") that mean "environment"
_ENV_NAMES = (
    "EnvironmentFailure",
    "WeightsUnavailable",
    "DataUnavailable",
    "UnknownEntryError",
    "PluginError",
    "ImportError",
    "ModuleNotFoundError",
    "MemoryError",
    "OutOfMemoryError",
    "KeyboardInterrupt",
    "TerminatedWorkerError",
    "BrokenProcessPool",
    "KilledWorker",
    "FileNotFoundError",
    "PermissionError",
    "OSError",
)
_OOM_TEXT = ("out of memory", "can't allocate memory", "cannot allocate memory", "failed to allocate")


class UserError(Exception):
    """A problem with what the user asked for or gave us (a file, a name, an option).

    The message is shown as-is on one line, so it must name the file or option and the problem,
    and where possible say what to run next.
    """


class EnvironmentFailure(UserError):
    """A failure caused by the environment, not by the inputs: never cached (see module docstring)."""


class WeightsUnavailable(EnvironmentFailure):
    """Weights missing, not downloadable, failing their checksum or not loadable."""


class DataUnavailable(EnvironmentFailure):
    """A dataset or one of its files is missing or fails its checksum."""


def is_environmental(exc: BaseException) -> bool:
    """True when ``exc`` comes from the environment (weights, data, imports, memory, workers)."""
    if isinstance(exc, (EnvironmentFailure, ImportError, MemoryError, KeyboardInterrupt, OSError)):
        return True
    name = type(exc).__name__
    if name in _ENV_NAMES:
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(t in text for t in _OOM_TEXT)


def is_environmental_message(message: str) -> bool:
    """True for a one-line error message that names an environmental failure (see :data:`ENV_PREFIX`)."""
    m = message.strip()
    if m.startswith(ENV_PREFIX) or m.startswith("worker crashed"):
        return True
    name = m.split(":", 1)[0].strip()
    return name in _ENV_NAMES


def one_line(exc: BaseException) -> str:
    """``"Type: first line of the message"``, prefixed with :data:`ENV_PREFIX` for environmental ones."""
    text = f"{type(exc).__name__}: {exc}".strip()
    text = text.splitlines()[0] if text else type(exc).__name__
    return ENV_PREFIX + text if is_environmental(exc) else text
