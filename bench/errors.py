"""Exceptions that the CLI turns into a one-line message and a non-zero exit (no traceback)."""


class UserError(Exception):
    """A problem with what the user asked for or gave us (a file, a name, an option).

    The message is shown as-is on one line, so it must name the file or option and the problem,
    and where possible say what to run next.
    """
