"""The vending server over HTTPS, as a multi-clerk station runs it beyond one machine: the
station makes its own CA (here with ``cryptography``), the server serves with a
certificate signed by it (``serve --tls-cert --tls-key``), and each clerk's CLI trusts that
CA (``--cacert`` or ``PREPAY_SERVER_CACERT``). A client that cannot verify the server
sends it nothing: no password, no sale."""
import datetime
import ipaddress
import json

import pytest
from sqlalchemy import func, select

from host.cli import main
from host.vending import schema
from host.vending.client import Client
from host.vending.errors import VendError
from vendserver import VendServer
from vendworld import PASSPHRASE, PASSWORDS, World


def _name(common_name):
    from cryptography.x509.oid import NameOID
    from cryptography import x509
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Prepay test station"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(folder, label):
    """A CA key and self-signed certificate: (key, certificate, path of its PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name(label)).issuer_name(_name(label))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    path = folder / ("%s.pem" % label)
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert, path


def make_server_cert(folder, ca_key, ca_cert):
    """The server's key and a certificate for 127.0.0.1 and localhost signed by the CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name("vending server")).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_path, key_path = folder / "server.pem", folder / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


@pytest.fixture
def tls_station(db_url, tmp_path):
    world = World(db_url)
    ca_key, ca_cert, ca_path = make_ca(tmp_path, "station-ca")
    cert_path, key_path = make_server_cert(tmp_path, ca_key, ca_cert)
    running = VendServer(db_url, PASSPHRASE, tmp_path, ["--tls-cert", cert_path, "--tls-key", key_path]).start()
    yield world, running, ca_path
    running.stop()
    world.engine.dispose()


def sales_count(world):
    with world.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(schema.sales)).scalar()


def test_clerk_cli_sells_over_https_trusting_the_station_ca(tls_station, monkeypatch, capsys):
    world, running, ca_path = tls_station
    assert running.url.startswith("https://127.0.0.1:")
    for name in ("PREPAY_DB", "PREPAY_KEYSTORE_PASSPHRASE", "PREPAY_SERVER_CACERT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PREPAY_OPERATOR", "alice")
    monkeypatch.setenv("PREPAY_OPERATOR_PASSWORD", PASSWORDS["alice"])
    pan = world.pans[0]
    code = main(["vend", "--server", running.url, "--cacert", str(ca_path), "sell", "--meter", pan,
                 "--amount", "20.00", "--channel", "cash", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    sold = json.loads(out)
    from tokens import sts
    decoded = sts.decode(sold["tokens"][0]["digits"], world.decoder_key(pan), "sta")
    assert decoded.tid == sold["tid"] and sold["operator"] == "alice"
    # the same through the environment, as a clerk's shell profile sets it
    monkeypatch.setenv("PREPAY_SERVER", running.url)
    monkeypatch.setenv("PREPAY_SERVER_CACERT", str(ca_path))
    code = main(["vend", "sell", "--meter", pan, "--amount", "10.00", "--channel", "cash", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["tid"] > sold["tid"]
    assert sales_count(world) == 2


def test_a_server_the_client_cannot_verify_gets_nothing(tls_station, tmp_path, monkeypatch, capsys):
    world, running, _ = tls_station
    monkeypatch.delenv("PREPAY_SERVER_CACERT", raising=False)
    _, _, rogue = make_ca(tmp_path, "other-ca")
    for cacert in (rogue, None):             # another CA's file; the system's CAs
        with Client(running.url, cacert=cacert and str(rogue)) as client:
            with pytest.raises(VendError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
                client.login("alice", PASSWORDS["alice"])
    monkeypatch.setenv("PREPAY_OPERATOR", "alice")
    monkeypatch.setenv("PREPAY_OPERATOR_PASSWORD", PASSWORDS["alice"])
    code = main(["vend", "--server", running.url, "--cacert", str(rogue), "sell", "--meter", world.pans[0],
                 "--amount", "20.00", "--channel", "cash"])
    out, err = capsys.readouterr()
    assert code == 2 and "certificate verify failed" in err.lower() and err.count("\n") == 1
    assert PASSWORDS["alice"] not in out + err
    # plain HTTP to the HTTPS port is no way round it
    with Client(running.url.replace("https://", "http://")) as client:
        with pytest.raises(VendError):
            client.login("alice", PASSWORDS["alice"])
    assert sales_count(world) == 0
    with world.engine.connect() as conn:       # no login reached the server, so none was recorded
        log = schema.audit_log
        assert conn.execute(select(func.count()).select_from(log).where(log.c.action.like("login%"))).scalar() == 0


def test_a_ca_file_is_refused_for_plain_http(tmp_path):
    _, _, ca = make_ca(tmp_path, "station-ca")
    with pytest.raises(VendError, match="https://"):
        Client("http://127.0.0.1:8470", cacert=str(ca))
    with pytest.raises(VendError, match="cannot use the CA file"):
        Client("https://127.0.0.1:8470", cacert=str(tmp_path / "missing.pem"))
