#!/usr/bin/env python
"""Django's command-line utility for the ledger service."""

import os
import sys


def main() -> None:
    """Run the management command named on the command line, its logs on standard error."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ledger_project.settings")
    # Commands keep stdout for their own output (e.g. `TOKEN=$(manage.py create_api_client x)`);
    # their logs go to stderr. The served app (gunicorn) logs to stdout.
    os.environ.setdefault("LOG_STREAM", "stderr")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
