"""Key custody: where the vending keys live and where their derivations run.

One interface, two implementations, chosen once at ``prepay vend init`` and recorded in
``settings.keystore``:

* ``SealedStore`` (``aes-gcm``, the default): each vending key sealed with AES-256-GCM
  under a key-encryption key (KEK) that scrypt derives from the keystore passphrase with
  a per-database salt; a sealed check value tells a wrong passphrase from a damaged key.
  The clear vending key exists in this process's memory while it derives decoder keys.
* ``ModuleStore`` (``pkcs11``, ``host/vending/pkcs11store.py``): the vending keys are
  non-extractable objects in a PKCS#11 module and DKGA04 runs inside it.

Both hold the audit trail's key (``mac``), so whoever holds only the database can
neither read a vending key nor forge an audit entry, and the command root of online
meters (docs/mqtt.md, "Keys"): a random 32-byte key made once per station, sealed in
``settings.command_root`` (AES-GCM) or a non-extractable object in the module (PKCS#11),
from which ``command_key(pan)`` and ``broker_password(pan)`` are derived for each meter. A custody never prints or logs a
key; its ``repr`` hides everything. Unlocking (scrypt, a module login) is slow on purpose:
the station does it before it opens a transaction (``Station.unlock``).
"""
import hashlib
import hmac
import json
import os

from sqlalchemy import insert, select

from host.vending import schema
from host.vending.errors import VendError

# OWASP's password storage guidance (2023-): scrypt N=2^17, r=8, p=1 (128 MiB).
SCRYPT = {"n": 2 ** 17, "r": 8, "p": 1}
CHECK_PLAINTEXT = b"prepay-keystore-check"
AUDIT_KEY_INFO = b"prepay audit trail mac"
COMMAND_ROOT_AAD = b"prepay-command-root"
COMMAND_KEY_INFO = b"prepay-command-key\n"
BROKER_INFO = b"prepay-broker\n"


def scrypt(secret, salt, params):
    """scrypt with the memory bound its parameters need (hashlib's default stops at 32 MiB)."""
    n, r, p = params["n"], params["r"], params["p"]
    return hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=2 * 128 * n * r * p + (1 << 20), dklen=32)


def _aesgcm(kek):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    return AESGCM(kek)


def record(conn):
    """The ``settings.keystore`` record (a dict), or None before ``init``."""
    text = conn.execute(select(schema.settings.c.value).where(schema.settings.c.key == "keystore")).scalar()
    return json.loads(text) if text else None


def _need(secret):
    if not secret:
        raise VendError("a keystore passphrase is needed (PREPAY_KEYSTORE_PASSPHRASE or prompt)")
    return secret


def new_record(secret, module_uri=None):
    """``(record, unlocked custody)`` for a new station, made before any transaction (scrypt
    or the module's key generation takes its time outside the database's locks)."""
    if module_uri:
        from host.vending import pkcs11store
        return pkcs11store.new_record(module_uri, secret)
    salt = os.urandom(16)
    kek = scrypt(_need(secret), salt, SCRYPT)
    nonce = os.urandom(12)
    check = _aesgcm(kek).encrypt(nonce, CHECK_PLAINTEXT, b"check")
    rec = dict(SCRYPT, custody="aes-gcm", kdf="scrypt", salt=salt.hex(), nonce=nonce.hex(), check=check.hex())
    return rec, SealedStore(kek)


def save_record(conn, rec):
    """Store a new station's keystore record; False if the station already has one."""
    if record(conn):
        return False
    conn.execute(insert(schema.settings).values(key="keystore", value=json.dumps(rec, sort_keys=True)))
    return True


def command_root_value(conn):
    """The ``settings.command_root`` value (JSON text), or None before it is made."""
    return conn.execute(select(schema.settings.c.value)
                        .where(schema.settings.c.key == "command_root")).scalar()


def pan_bytes(pan):
    """The PAN as the derivations take it: its 18 ASCII digits, check digit verified."""
    from tokens.errors import TokenError
    from tokens.pan import validate_pan
    try:
        return validate_pan(pan).encode("ascii")
    except TokenError as exc:
        raise VendError(str(exc))


class CommandKeys:
    """``command_key`` and ``broker_password`` over a custody's ``_root_hmac`` (the
    HMAC-SHA-256 under the command root, wherever the root lives)."""

    def command_key(self, pan):
        """The meter's 32-byte command key: HMAC-SHA-256(root, "prepay-command-key\\n" + PAN)."""
        return self._root_hmac(COMMAND_KEY_INFO + pan_bytes(pan))

    def broker_password(self, pan):
        """The meter's MQTT password: the first 32 hex digits of
        HMAC-SHA-256(root, "prepay-broker\\n" + PAN)."""
        return self._root_hmac(BROKER_INFO + pan_bytes(pan)).hex()[:32]

    def has_command_root(self):
        return self._command_root is not None

    def forget_command_root(self):
        self._command_root = None

    def _need_root(self):
        if self._command_root is None:
            raise VendError("this station has no command root yet (run 'prepay vend init')")
        return self._command_root


def unlock(rec, secret):
    """The custody a keystore record describes, unlocked with its passphrase or PIN."""
    if rec is None:
        raise VendError("the keystore is not initialised; run 'prepay vend init'")
    if rec.get("custody", "aes-gcm") == "pkcs11":
        from host.vending import pkcs11store
        return pkcs11store.ModuleStore.unlock(rec, secret)
    return SealedStore.unlock(rec, secret)


class SealedStore(CommandKeys):
    """The AES-GCM store, unlocked: seals and opens vending keys and the command root
    with the KEK."""
    kind = "aes-gcm"

    def __init__(self, kek):
        self._kek = kek
        self._audit_key = _hkdf(kek, AUDIT_KEY_INFO)
        self._cache = {}
        self._command_root = None

    def __repr__(self):
        return "<SealedStore unlocked>"

    @classmethod
    def unlock(cls, rec, secret):
        kek = scrypt(_need(secret), bytes.fromhex(rec["salt"]), rec)
        from cryptography.exceptions import InvalidTag
        try:
            _aesgcm(kek).decrypt(bytes.fromhex(rec["nonce"]), bytes.fromhex(rec["check"]), b"check")
        except InvalidTag:
            raise VendError("wrong keystore passphrase")
        return cls(kek)

    @staticmethod
    def _aad(sgc, krn):
        return ("vending-key:%06d:%d" % (sgc, krn)).encode()

    def seal(self, sgc, krn, dkga, key_bytes):
        """(nonce, ciphertext) columns of a new ``vending_keys`` row."""
        nonce = os.urandom(12)
        return nonce.hex(), _aesgcm(self._kek).encrypt(nonce, bytes(key_bytes), self._aad(sgc, krn)).hex()

    def _open(self, row):
        cached = self._cache.get(row["id"])
        if cached is not None:
            return cached
        from cryptography.exceptions import InvalidTag
        try:
            key = _aesgcm(self._kek).decrypt(bytes.fromhex(row["nonce"]), bytes.fromhex(row["ciphertext"]),
                                             self._aad(row["sgc"], row["krn"]))
        except (InvalidTag, ValueError):
            raise VendError("vending key SGC %06d KRN %d cannot be opened (damaged record?)"
                            % (row["sgc"], row["krn"]))
        self._cache[row["id"]] = key
        return key

    def decoder_key(self, row, meter):
        """The meter's decoder key from the vending key of ``vending_keys`` row ``row``."""
        from tokens import keys
        vending_key = self._open(row)
        if row["dkga"] == "02":
            return keys.dkga02(vending_key, meter["pan"], meter["sgc"], meter["ti"], meter["krn"], meter["kt"])
        return keys.dkga04(vending_key, meter["pan"], meter["sgc"], meter["ti"], meter["krn"], meter["kt"],
                           meter["base_year"], meter["algorithm"])

    def mac(self, data):
        """HMAC-SHA-256 under the audit key (derived from the KEK, so never in the database)."""
        return hmac.new(self._audit_key, data, hashlib.sha256).hexdigest()

    def new_command_root(self):
        """A new random command root, opened here; returns its ``settings.command_root``
        value (the root sealed under the KEK)."""
        root = os.urandom(32)
        nonce = os.urandom(12)
        sealed = _aesgcm(self._kek).encrypt(nonce, root, COMMAND_ROOT_AAD)
        self._command_root = root
        return json.dumps({"custody": self.kind, "nonce": nonce.hex(), "ciphertext": sealed.hex()},
                          sort_keys=True)

    def open_command_root(self, value):
        from cryptography.exceptions import InvalidTag
        sealed = json.loads(value)
        if sealed.get("custody") != self.kind:
            raise VendError("the command root is held by a %s custody, not this one" % sealed.get("custody"))
        try:
            self._command_root = _aesgcm(self._kek).decrypt(bytes.fromhex(sealed["nonce"]),
                                                            bytes.fromhex(sealed["ciphertext"]), COMMAND_ROOT_AAD)
        except (InvalidTag, ValueError, KeyError):
            raise VendError("the command root cannot be opened (damaged record?)")

    def _root_hmac(self, message):
        return hmac.new(self._need_root(), message, hashlib.sha256).digest()

    def close(self):
        self._cache.clear()
        self._command_root = None


def _hkdf(key, info):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key)


def read_key_file(path):
    """A vending key from a text file of hex digits (whitespace ignored), never from argv.
    Errors name the file, never its content."""
    from host.textfile import read
    text = "".join(read(path, "key file").split())
    if not text or len(text) % 2 or not all(c in "0123456789abcdefABCDEF" for c in text):
        raise VendError("key file %s does not hold hex digits (an even number of them)" % path)
    return bytes.fromhex(text)
