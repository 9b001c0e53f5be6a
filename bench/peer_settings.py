"""The peer wallet's own settings with debug off, as a deployment of it would run (see :mod:`bench.peer`).

Its settings hard-code ``DEBUG = True`` (which also keeps every query of a request in memory);
``python -m bench --peer DIR --peer-debug-off`` serves it with these instead, so that both
services are measured in production mode. Nothing else is changed.
"""

from wallet_app_drf.settings import *  # noqa: F403 (the peer's settings, whole)

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
