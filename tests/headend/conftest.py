"""Fixtures for the head-end tests: the database on SQLite and PostgreSQL, light scrypt.
The helpers are in headend_kit.py."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "vending"))

from pgserver import started_for_tests  # noqa: E402


@pytest.fixture(scope="session")
def pg_server():
    server = started_for_tests()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def light_scrypt(monkeypatch):
    from host.vending import keystore, operators
    monkeypatch.setattr(keystore, "SCRYPT", {"n": 2 ** 12, "r": 8, "p": 1})
    monkeypatch.setattr(operators, "SCRYPT", {"n": 2 ** 12, "r": 8, "p": 1})


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "vending.db")
    return request.getfixturevalue("pg_server").new_database()


@pytest.fixture
def sqlite_url(tmp_path):
    return str(tmp_path / "vending.db")
