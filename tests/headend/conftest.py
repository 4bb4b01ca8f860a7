"""Fixtures for the head-end tests: the database on SQLite and PostgreSQL, light scrypt.
The helpers are in headend_kit.py."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "vending"))

from pgserver import Server  # noqa: E402


def _pg_required():
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("PREPAY_REQUIRE_PG") == "1"


@pytest.fixture(scope="session")
def pg_server():
    server = Server()
    try:
        server.start().wait_ready()
    except Exception as exc:
        if _pg_required():
            pytest.fail("PostgreSQL unavailable: %s" % exc, pytrace=False)
        pytest.skip("PostgreSQL unavailable: %s" % exc)
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
