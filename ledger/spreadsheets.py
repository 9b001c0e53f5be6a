"""CSV for people who open it in a spreadsheet: streamed line by line, and never run as a formula."""

from __future__ import annotations


class LineBuffer:
    """A file whose ``write`` hands back the line it is given, so a ``csv`` writer's ``writerow`` returns it.

    With it a CSV is produced one line at a time (a streamed response, a generator), never held whole.
    """

    def write(self, text: str) -> str:
        return text


def spreadsheet_safe(value: str | int | None) -> str | int | None:
    """Return a cell no spreadsheet runs as a formula: text starting with ``= + - @``, a tab or a CR gets a quote.

    Pass only text written by clients (descriptions, references, names) through it: the
    ledger's own amounts start with ``-`` and must stay numbers.
    """
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
