"""Real keyring backends that fail for some operations only, to test what the bot does then.

They are the real Secret Service backend with one kind of write refused, selected in the
CLI's subprocess with PYTHON_KEYRING_BACKEND=tests.keyring_backends.<Class>. A keyring that
dies halfway (a locked collection, a crashed daemon, a full disk) looks like this to the bot.
"""

from __future__ import annotations

import os

from keyring.backends.SecretService import Keyring as SecretServiceKeyring
from keyring.errors import PasswordSetError


class RefusesEveryWrite(SecretServiceKeyring):
    """Reads work, every write fails: the pre-flight probe must catch it."""

    priority = 0.1  # never chosen unless named by PYTHON_KEYRING_BACKEND

    def set_password(self, service: str, username: str, password: str) -> None:
        raise PasswordSetError("test backend: writes are refused")


class RefusesTechnicalWrites(SecretServiceKeyring):
    """The probe passes, then storing a technical password fails: the rescue file's case."""

    priority = 0.1

    def set_password(self, service: str, username: str, password: str) -> None:
        if service.startswith("chorus-bot/technical/"):
            raise PasswordSetError("test backend: technical entries are refused")
        super().set_password(service, username, password)


class RefusesOneStructure(SecretServiceKeyring):
    """Storing the technical password of one structure (env TEST_REFUSED_SIRET) fails: a
    keyring failing in the middle of a run over many structures."""

    priority = 0.1

    def set_password(self, service: str, username: str, password: str) -> None:
        refused = os.environ.get("TEST_REFUSED_SIRET", "")
        if refused and service.startswith(f"chorus-bot/technical/{refused}"):
            raise PasswordSetError("test backend: this structure's entries are refused")
        super().set_password(service, username, password)
