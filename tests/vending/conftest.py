"""Fixtures for the vending tests: each ledger test runs on SQLite and on PostgreSQL, and
a test that asks for ``mode`` runs locally and through the vending server (``local``,
``server``).

PostgreSQL comes from ``PREPAY_TEST_PG_URL`` or a server these fixtures start themselves
(``pgserver.py``). When it cannot be had the PostgreSQL cases are skipped locally but
**fail** under CI (``CI=true``) or with ``PREPAY_REQUIRE_PG=1``.
"""
import os
import shutil
import subprocess

import pytest

from pgserver import started_for_tests


@pytest.fixture(scope="session")
def pg_server():
    server = started_for_tests()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def light_scrypt(monkeypatch):
    """The tests hash hundreds of passwords: scrypt at N=2^12 here. The station's own
    strength (N=2^17) is checked in test_vend_trust.py and timed in bench_vending.py."""
    from host.vending import keystore, operators
    monkeypatch.setattr(keystore, "SCRYPT", {"n": 2 ** 12, "r": 8, "p": 1})
    monkeypatch.setattr(operators, "SCRYPT", {"n": 2 ** 12, "r": 8, "p": 1})


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "vending.db")
    return request.getfixturevalue("pg_server").new_database()


@pytest.fixture
def world(db_url):
    from vendworld import World
    w = World(db_url)
    yield w
    w.engine.dispose()


@pytest.fixture(params=["local", "server"])
def mode(request):
    return request.param


SOFTHSM = "/usr/lib/softhsm/libsofthsm2.so"


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory):
    """A SoftHSM2 token for the session (the module reads its configuration once per
    process, so every test module shares this one)."""
    if not os.path.exists(SOFTHSM) or not shutil.which("softhsm2-util"):
        message = "SoftHSM2 is not installed (apt-get install softhsm2)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    pytest.importorskip("pkcs11")
    folder = tmp_path_factory.mktemp("softhsm")
    (folder / "tokens").mkdir()
    conf = folder / "softhsm2.conf"
    conf.write_text("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n" % (folder / "tokens"))
    os.environ["SOFTHSM2_CONF"] = str(conf)      # read when the module loads: one per test session
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "prepay-test", "--pin", "4321",
                    "--so-pin", "87654321"], check=True, capture_output=True)
    return "pkcs11:token=prepay-test?module-path=" + SOFTHSM
