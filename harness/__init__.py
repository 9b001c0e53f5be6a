"""Test support shared by the test suite (``tests/``), the benchmark (``bench/``) and the torture suite (``torture/``).

- :mod:`harness.ports`: free TCP ports on the loopback interface;
- :mod:`harness.environment`: the environment of the processes they start, without the project's
  own settings, and the production settings of a server on loopback;
- :mod:`harness.commands`: ``manage.py`` commands, in a process of their own or in this one;
- :mod:`harness.processes`: the child processes of a process (gunicorn's workers);
- :mod:`harness.servers`: the commands that serve the project, a server run until it answers,
  and an HTTP client for it;
- :mod:`harness.books`: the accounting equation, checked in SQL on any connection to the ledger.

The harness checks the product from outside: it may import the product, the product never
imports it (the import contract in ``pyproject.toml`` says so). ``reconcile`` is the product's
own check of the books; :mod:`harness.books` is the independent one the tests verify it with.
"""
