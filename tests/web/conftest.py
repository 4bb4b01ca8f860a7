"""Fixtures for the web console's tests: a vending world (tests/vending/vendworld.py) on
SQLite, the server's app with the console mounted, and browsers (httpx's test client, or
Debian's chromium through Playwright in test_web_browser.py)."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "vending"))
sys.path.insert(0, HERE)

from webkit import PROVIDER_SECRET, Browser  # noqa: E402



@pytest.fixture(autouse=True)
def light_scrypt(monkeypatch):
    """Passwords hashed at N=2^12 here (the station's own strength is tested in tests/vending)."""
    from host.vending import keystore, operators
    monkeypatch.setattr(keystore, "SCRYPT", {"n": 2 ** 12, "r": 8, "p": 1})
    monkeypatch.setattr(operators, "SCRYPT", {"n": 2 ** 12, "r": 8, "p": 1})


@pytest.fixture(scope="session")
def pg_server():
    """PostgreSQL for the tests marked to run on it too (skipped locally without it,
    a failure under CI, as in tests/vending)."""
    from pgserver import started_for_tests
    server = started_for_tests()
    yield server
    server.stop()


@pytest.fixture
def db_url(request, tmp_path):
    """SQLite, or PostgreSQL for a test parametrized with ``database=["sqlite", "postgresql"]``."""
    if getattr(request, "param", "sqlite") == "postgresql":
        return request.getfixturevalue("pg_server").new_database()
    return str(tmp_path / "vending.db")


@pytest.fixture
def world(db_url):
    from vendworld import World
    w = World(db_url)
    from host.vending import office
    office.add_operator(w.station, w.ops["root"], "mpesa", "clerk", "mpesa-account-password")
    yield w
    w.engine.dispose()


@pytest.fixture
def app(world):
    from host.vending.callbacks import Provider
    from host.web.app import create_app
    return create_app(world.station, providers=[Provider("mpesa", PROVIDER_SECRET, "mpesa")])


@pytest.fixture
def browser(app):
    return Browser(app)


@pytest.fixture
def new_browser(app):
    return lambda: Browser(app)
