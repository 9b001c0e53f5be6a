"""The W3C trace context of the change that wrote an event (``Event.trace_context``), NULL when untraced.

A nullable column without a default: PostgreSQL adds it to the catalogue only (no table rewrite,
no scan, a brief ACCESS EXCLUSIVE lock), however many events there are; existing rows read NULL.
Reversible: dropping the column is metadata-only too. The trigger that refuses updates and
deletes of events is untouched (it is on the table, not on its columns).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0002_broker_cursor"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="trace_context",
            field=models.JSONField(
                blank=True,
                editable=False,
                help_text="The W3C trace context of the change (traceparent, tracestate) when it was traced; never served.",
                null=True,
            ),
        ),
    ]
