"""Log-in by the account's folded name (``accounts.identity.username_key``).

Django's ``ModelBackend`` finds the user by the exact name typed (after NFKC), so on SQLite
``DAVE`` is nobody while on MariaDB's case-insensitive collation it is dave, and the limiter
and the look-up disagreed about who ``ｄａｖｅ`` is. Here both use one key. Accounts made
before the key existed and whose key collides with another's keep ``username_key`` empty
(see the migration) and are still found by their exact name.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from accounts.identity import username_key


class UsernameKeyBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        User = get_user_model()
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        user = User._default_manager.filter(username_key=username_key(username)).first()
        if user is None:
            user = User._default_manager.filter(username=username, username_key__isnull=True).first()
        if user is None:
            # Hash anyway, so a missing name takes as long as a wrong password.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
