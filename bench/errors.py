"""What stops a benchmark run."""


class BenchFailure(RuntimeError):
    """An invariant was violated, or a step of the run failed."""
