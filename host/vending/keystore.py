"""Vending keys, encrypted at rest.

Each vending key is sealed with AES-256-GCM. The key-encryption key (KEK) comes from the
passphrase (``PREPAY_KEYSTORE_PASSPHRASE`` or a prompt) through scrypt with a per-database
salt kept in ``settings``; a sealed check value tells a wrong passphrase from a damaged key.
The clear key exists only in this process's memory; nothing here prints or logs it, and
``VendingKey.__repr__`` hides it.
"""
import hashlib
import json
import os

from sqlalchemy import select, insert

from host.vending import schema
from host.vending.errors import VendError

SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}
CHECK_PLAINTEXT = b"prepay-keystore-check"


def _aesgcm(kek):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    return AESGCM(kek)


def derive_kek(passphrase, salt, params=SCRYPT):
    return hashlib.scrypt(passphrase.encode("utf-8"), salt=salt, n=params["n"], r=params["r"],
                          p=params["p"], maxmem=64 * 1024 * 1024, dklen=32)


def _setting(conn, key):
    return conn.execute(select(schema.settings.c.value).where(schema.settings.c.key == key)).scalar()


def initialise(conn, passphrase):
    """Create the keystore's salt and check value (once, at ``prepay vend init``)."""
    if _setting(conn, "keystore"):
        return False
    if not passphrase:
        raise VendError("a keystore passphrase is needed (PREPAY_KEYSTORE_PASSPHRASE or prompt)")
    salt = os.urandom(16)
    kek = derive_kek(passphrase, salt)
    nonce = os.urandom(12)
    check = _aesgcm(kek).encrypt(nonce, CHECK_PLAINTEXT, b"check")
    record = {"kdf": "scrypt", "salt": salt.hex(), "nonce": nonce.hex(), "check": check.hex()}
    record.update(SCRYPT)
    conn.execute(insert(schema.settings).values(key="keystore", value=json.dumps(record)))
    return True


class Keystore:
    """An unlocked keystore: seals and opens vending keys with the KEK."""

    def __init__(self, kek):
        self._kek = kek
        self._cache = {}

    def __repr__(self):
        return "<Keystore unlocked>"

    @classmethod
    def unlock(cls, conn, passphrase):
        text = _setting(conn, "keystore")
        if not text:
            raise VendError("the keystore is not initialised; run 'prepay vend init'")
        if not passphrase:
            raise VendError("a keystore passphrase is needed (PREPAY_KEYSTORE_PASSPHRASE or prompt)")
        record = json.loads(text)
        kek = derive_kek(passphrase, bytes.fromhex(record["salt"]), record)
        from cryptography.exceptions import InvalidTag
        try:
            _aesgcm(kek).decrypt(bytes.fromhex(record["nonce"]), bytes.fromhex(record["check"]), b"check")
        except InvalidTag:
            raise VendError("wrong keystore passphrase")
        return cls(kek)

    @staticmethod
    def _aad(sgc, krn):
        return ("vending-key:%06d:%d" % (sgc, krn)).encode()

    def seal(self, sgc, krn, key_bytes):
        nonce = os.urandom(12)
        return nonce.hex(), _aesgcm(self._kek).encrypt(nonce, bytes(key_bytes), self._aad(sgc, krn)).hex()

    def open(self, row):
        """The clear vending key of a ``vending_keys`` row (kept in memory for this process)."""
        cached = self._cache.get(row["id"])
        if cached is not None:
            return cached
        from cryptography.exceptions import InvalidTag
        try:
            key = _aesgcm(self._kek).decrypt(bytes.fromhex(row["nonce"]), bytes.fromhex(row["ciphertext"]),
                                             self._aad(row["sgc"], row["krn"]))
        except InvalidTag:
            raise VendError("vending key SGC %06d KRN %d cannot be opened (damaged record?)"
                            % (row["sgc"], row["krn"]))
        self._cache[row["id"]] = key
        return key


def read_key_file(path):
    """A vending key from a text file of hex digits (whitespace ignored), never from argv.
    Errors name the file, never its content."""
    from host.textfile import read
    text = "".join(read(path, "key file").split())
    if not text or len(text) % 2 or not all(c in "0123456789abcdefABCDEF" for c in text):
        raise VendError("key file %s does not hold hex digits (an even number of them)" % path)
    return bytes.fromhex(text)
