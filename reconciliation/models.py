"""The record of every reconciliation run: when, over what, which checks, and what it found.

A run is written once, after its checks have finished in their own read-only snapshot, so
checking never writes to the ledger's tables and a crashed check still leaves a record
(``result = error``). Runs are never changed afterwards.
"""

from django.db import models


class ReconciliationRun(models.Model):
    """One run of ``manage.py reconcile``: its scope, each check's count and time, and the first findings."""

    class Scope(models.TextChoices):
        ALL = "all", "All accounts"
        ACCOUNT = "account", "One account"
        SINCE = "since", "Accounts moved since a time"

    class Result(models.TextChoices):
        CLEAN = "clean", "Clean"
        DISCREPANCIES = "discrepancies", "Discrepancies found"
        ERROR = "error", "Error (checks did not finish)"

    # At most this many discrepancies are stored per run; ``discrepancy_count`` keeps the true number.
    MAX_STORED_DISCREPANCIES = 1000

    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField()
    scope = models.CharField(max_length=7, choices=Scope.choices)
    scope_account = models.CharField(
        max_length=64, blank=True, default="", help_text="The account's public id, for an account run."
    )
    since = models.DateTimeField(
        null=True, blank=True, help_text="The effective cutoff of a --since run (the requested time minus the margin)."
    )
    checks = models.JSONField(default=dict, help_text="Each check that ran, with the number of discrepancies it found.")
    result = models.CharField(max_length=13, choices=Result.choices)
    discrepancy_count = models.PositiveIntegerField(default=0, help_text="All discrepancies found, stored or not.")
    discrepancies = models.JSONField(
        default=list, blank=True, help_text=f"The first {MAX_STORED_DISCREPANCIES} discrepancies found."
    )
    error = models.TextField(blank=True, default="", help_text="Why the run failed, for result = error.")
    run_by = models.CharField(max_length=150, help_text="Who ran it, e.g. 'manage.py reconcile (ops@db1)'.")

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scope__in=["all", "account", "since"]), name="reconciliation_run_scope_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(result__in=["clean", "discrepancies", "error"]),
                name="reconciliation_run_result_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"reconciliation {self.started_at:%Y-%m-%d %H:%M:%S} {self.scope}: {self.result}"

    @property
    def duration_seconds(self) -> float:
        """How long the run took, from its start until its checks had finished."""
        return (self.finished_at - self.started_at).total_seconds()
