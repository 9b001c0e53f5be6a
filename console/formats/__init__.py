"""The console's date and time formats (``FORMAT_MODULE_PATH``): one format, with its time zone, everywhere."""
