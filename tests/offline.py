"""A fixture that makes any network connection fail, for tests that must run offline."""

import socket

import pytest


def refuse_network(monkeypatch) -> None:
    """Makes every `socket.connect` raise, through `monkeypatch` (a test's, or a
    `pytest.MonkeyPatch.context()` of a module-scoped fixture)."""

    def refuse(self, address, *args, **kwargs):
        raise AssertionError(f"network connection to {address!r} attempted in an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


@pytest.fixture
def no_network(monkeypatch):
    """Every `socket.connect` raises: a test that would download anything (a hub model, a
    tokenizer file) fails instead of quietly reaching the network."""
    refuse_network(monkeypatch)
