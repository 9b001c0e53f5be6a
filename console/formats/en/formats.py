"""Date-time formats of the console in English: ``2026-12-02 19:04:05 UTC``, seconds and zone always shown.

Django's own list columns and read-only fields use these, and so does ``console.tools.when``,
so every date-time in the console reads the same. ``T`` is the abbreviation of ``TIME_ZONE``
at that instant (``UTC``, ``CET``/``CEST``...). The date hierarchy's ``YEAR_MONTH_FORMAT`` and
``MONTH_DAY_FORMAT`` stay Django's.
"""

DATETIME_FORMAT = "Y-m-d H:i:s T"
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = DATE_FORMAT
TIME_FORMAT = "H:i:s T"
