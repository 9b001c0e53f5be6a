"""The type of the users who act on the books: clients, operators and owners of accounts.

The core annotates every actor with :data:`User`, the project's user model
(``AUTH_USER_MODEL``: Django's ``auth.User``). Code that runs inside a request narrows
``request.user`` (which may be anonymous) to it before calling the core.

For annotations only: import it under ``TYPE_CHECKING`` (the modules that do postpone the
evaluation of their annotations), since importing Django's user model at run time would need
the app registry to be ready.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from django.contrib.auth import models as auth_models

    # Change this, and only this, if AUTH_USER_MODEL ever changes.
    User: TypeAlias = auth_models.User
