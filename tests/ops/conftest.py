"""ops fixtures: messages to back up, purge and re-encrypt, made as messaging's tests make them."""

from tests.messaging.conftest import make_message  # noqa: F401 - a fixture, shared
