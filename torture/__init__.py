"""The torture suite: the ledger under load, faults and hostile input, against real processes.

``python -m torture`` (``make torture``) runs every scenario against gunicorn instances and
PostgreSQL on this machine and prints a table of figures; ``--short`` runs the small versions
that the normal test suite runs too (``tests/torture/``). See ``docs/reliability.md``.

Scenarios (one module each): :mod:`torture.racing`, :mod:`torture.crashing`,
:mod:`torture.outage`, :mod:`torture.fuzzing`, :mod:`torture.authz`, :mod:`torture.hostile`.
Shared pieces: :mod:`torture.infra` (databases, gunicorn instances), :mod:`harness.postgres`
(a throwaway PostgreSQL cluster), :mod:`torture.client` (HTTP and the load generator),
:mod:`torture.invariants` (the books, checked with SQL) and :mod:`torture.report`.
"""
