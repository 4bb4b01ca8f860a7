"""Key custody in a PKCS#11 module (an HSM, a smart card, or SoftHSM2 for tests).

The station names its module with a PKCS#11 URI (RFC 7512), given once at
``prepay vend init --keystore URI`` and kept in ``settings.keystore``::

    pkcs11:token=prepay?module-path=/usr/lib/softhsm/libsofthsm2.so

``token=`` (or ``serial=``) picks the token, ``module-path=`` the module's library; the
user PIN comes from ``PREPAY_PKCS11_PIN``, else the file of ``pin-source=file:...``, else
the station's keystore passphrase (prompt). A PIN is never part of the stored URI.

What lives in the module, each as a non-extractable, sensitive token object:
* each DKGA04 vending key, imported as a generic secret for CKM_SHA256_HMAC: the decoder
  key derivation (HMAC-SHA-256, truncated) runs inside the module. Keys shorter than 32
  bytes are zero-padded to 32, which HMAC itself does to any key shorter than its block
  (SoftHSM2 refuses HMAC keys under 32 bytes), so the result is the same.
* the audit trail's MAC key (32 random bytes made by the module).
* the command root of online meters (32 random bytes made by the module, labelled
  ``prepay-command-root-<random>``, the label kept in ``settings.command_root``): each
  meter's command key and broker password are HMAC-SHA-256 under it, computed inside.
DKGA02 needs DES(VK, x) XOR x XOR VK: the final XOR with the vending key has no
standard PKCS#11 mechanism, so a DKGA02 key cannot be used without leaving the module,
and is refused here (a certified STS secure module does DKGA02 inside).

What still leaves the module: each derived decoder key, which the station needs in memory
to encrypt tokens (STA/MISTY1 are not PKCS#11 mechanisms), and each derived command key
and broker password, which provisioning writes into the meter and the head-end signs
with (a derived key kept inside would need a KDF mechanism SoftHSM2 does not offer). See docs/threat-model.md.
"""
import json
import os
import threading
import urllib.parse

from host.vending.errors import VendError
from host.vending.keystore import CommandKeys

VK_LABEL = "prepay-vk-%06d-%d"
AUDIT_LABEL = "prepay-audit-mac"
COMMAND_ROOT_LABEL = "prepay-command-root-"


def parse_uri(uri):
    """``{"token", "serial", "module", "pin_source"}`` from a ``pkcs11:`` URI."""
    if not uri.startswith("pkcs11:"):
        raise VendError("keystore %r: a PKCS#11 module is named by a URI such as "
                        "pkcs11:token=prepay?module-path=/usr/lib/softhsm/libsofthsm2.so" % uri)
    path, _, query = uri[len("pkcs11:"):].partition("?")
    attrs = {}
    for part in [p for p in path.split(";") if p] + [q for q in query.split("&") if q]:
        name, sep, value = part.partition("=")
        if not sep:
            raise VendError("keystore URI: %r is not NAME=VALUE" % part)
        attrs[name] = urllib.parse.unquote(value)
    if "pin-value" in attrs:
        raise VendError("keystore URI: the PIN must not be written into the URI (use PREPAY_PKCS11_PIN, "
                        "pin-source=file:PATH or the prompt)")
    unknown = set(attrs) - {"token", "serial", "module-path", "pin-source"}
    if unknown:
        raise VendError("keystore URI: unknown attribute(s) %s" % ", ".join(sorted(unknown)))
    if "module-path" not in attrs or not ("token" in attrs or "serial" in attrs):
        raise VendError("keystore URI needs module-path= and token= (or serial=)")
    return {"token": attrs.get("token"), "serial": attrs.get("serial"), "module": attrs["module-path"],
            "pin_source": attrs.get("pin-source")}


def _pin(where, secret):
    pin = os.environ.get("PREPAY_PKCS11_PIN")
    if pin:
        return pin
    if where["pin_source"]:
        source = where["pin_source"]
        path = source[len("file:"):] if source.startswith("file:") else source
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.read().strip()
        except OSError as exc:
            raise VendError("cannot read the PKCS#11 PIN from %s: %s" % (path, exc.strerror))
    if not secret:
        raise VendError("the PKCS#11 token's PIN is needed (PREPAY_PKCS11_PIN, pin-source or the prompt)")
    return secret


def _library(path):
    try:
        import pkcs11
    except ImportError:
        raise VendError("a PKCS#11 keystore needs the python-pkcs11 package (pip install python-pkcs11)")
    try:
        return pkcs11.lib(path)
    except (RuntimeError, OSError, pkcs11.PKCS11Error) as exc:
        raise VendError("cannot load the PKCS#11 module %s: %s" % (path, exc.__class__.__name__))


def _open_session(where, secret):
    import pkcs11
    lib = _library(where["module"])
    try:
        token = lib.get_token(token_label=where["token"], token_serial=where["serial"]) if where["serial"] \
            else lib.get_token(token_label=where["token"])
    except (pkcs11.NoSuchToken, pkcs11.MultipleTokensReturned):
        raise VendError("no single PKCS#11 token %s in %s" % (where["token"] or where["serial"], where["module"]))
    try:
        return token.open(user_pin=_pin(where, secret), rw=True)
    except pkcs11.UserAlreadyLoggedIn:      # a login belongs to the process: this one has done it
        return token.open(rw=True)
    except pkcs11.PinIncorrect:
        raise VendError("wrong PIN for the PKCS#11 token %s" % (where["token"] or where["serial"]))
    except pkcs11.PKCS11Error as exc:
        raise VendError("cannot log in to the PKCS#11 token: %s" % exc.__class__.__name__)


def _secret_key_template(label, uses):
    from pkcs11 import Attribute
    template = {Attribute.LABEL: label, Attribute.ID: label.encode(), Attribute.TOKEN: True,
                Attribute.PRIVATE: True, Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False,
                Attribute.MODIFIABLE: False, Attribute.ENCRYPT: False, Attribute.DECRYPT: False,
                Attribute.WRAP: False, Attribute.UNWRAP: False, Attribute.DERIVE: False,
                Attribute.SIGN: False, Attribute.VERIFY: False}
    template.update(uses)
    return template


def new_record(uri, secret):
    """``(record, custody)``: the module's audit key is made (or found) in the token."""
    import pkcs11
    from pkcs11 import Attribute, KeyType, ObjectClass
    where = parse_uri(uri)
    session = _open_session(where, secret)
    found = list(session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.LABEL: AUDIT_LABEL}))
    if not found:
        try:
            session.generate_key(KeyType.GENERIC_SECRET, 256, label=AUDIT_LABEL, id=AUDIT_LABEL.encode(),
                                 store=True, template=_secret_key_template(AUDIT_LABEL, {
                                     Attribute.SIGN: True, Attribute.VERIFY: True}))
        except pkcs11.PKCS11Error as exc:
            raise VendError("the PKCS#11 token cannot make the audit key: %s" % exc.__class__.__name__)
    rec = {"custody": "pkcs11", "uri": _stored_uri(where)}
    return rec, ModuleStore(session, where)


def _stored_uri(where):
    path = ";".join("%s=%s" % (k, urllib.parse.quote(where[v], safe=""))
                    for k, v in (("token", "token"), ("serial", "serial")) if where[v])
    query = "module-path=" + urllib.parse.quote(where["module"], safe="/")
    if where["pin_source"]:
        query += "&pin-source=" + urllib.parse.quote(where["pin_source"], safe="/:")
    return "pkcs11:%s?%s" % (path, query)


class ModuleStore(CommandKeys):
    """The PKCS#11 custody, logged in: one session, used under a lock (a PKCS#11 session
    is not for two threads at once)."""
    kind = "pkcs11"

    def __init__(self, session, where):
        self._session = session
        self._where = where
        self._lock = threading.Lock()
        self._keys = {}
        self._audit_key = None
        self._command_root = None

    def __repr__(self):
        return "<ModuleStore %s>" % (self._where["token"] or self._where["serial"])

    @classmethod
    def unlock(cls, rec, secret):
        where = parse_uri(rec["uri"])
        return cls(_open_session(where, secret), where)

    def _object(self, label):
        from pkcs11 import Attribute, ObjectClass
        found = list(self._session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY,
                                                Attribute.LABEL: label}))
        if len(found) != 1:
            raise VendError("the PKCS#11 token holds %d keys labelled %s (expected one)" % (len(found), label))
        return found[0]

    def seal(self, sgc, krn, dkga, key_bytes):
        """Import a vending key as a non-extractable token object; returns the row's
        (nonce, ciphertext) columns: empty, and a reference to the object."""
        import pkcs11
        from pkcs11 import Attribute, KeyType, ObjectClass
        if dkga != "04":
            raise VendError("a DKGA02 key cannot be used inside a PKCS#11 module (its derivation ends with an "
                            "XOR with the vending key, which no standard mechanism does); keep DKGA02 meters "
                            "on a station with the AES-GCM keystore or a certified STS secure module")
        label = VK_LABEL % (sgc, krn)
        value = bytes(key_bytes) + bytes(max(0, 32 - len(key_bytes)))     # HMAC pads with zeros anyway
        with self._lock:
            for stale in self._session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY,
                                                    Attribute.LABEL: label}):
                stale.destroy()    # left by an add whose database transaction rolled back
            try:
                self._session.create_object(_secret_key_template(label, {
                    Attribute.SIGN: True, Attribute.CLASS: ObjectClass.SECRET_KEY,
                    Attribute.KEY_TYPE: KeyType.GENERIC_SECRET, Attribute.VALUE: value}))
            except pkcs11.PKCS11Error as exc:
                raise VendError("the PKCS#11 token refused the vending key: %s" % exc.__class__.__name__)
        return "", "pkcs11:" + label

    def decoder_key(self, row, meter):
        """DKGA04 inside the module: the first 64 (STA) or 128 (MISTY1) bits of
        HMAC-SHA-256(VK, message); only the decoder key comes out."""
        from pkcs11 import Mechanism
        from tokens import keys
        if row["dkga"] != "04" or not row["ciphertext"].startswith("pkcs11:"):
            raise VendError("vending key SGC %06d KRN %d is not in the PKCS#11 module" % (row["sgc"], row["krn"]))
        message = keys.dkga04_message(meter["pan"], meter["sgc"], meter["ti"], meter["krn"], meter["kt"],
                                      meter["base_year"], meter["algorithm"])
        label = row["ciphertext"][len("pkcs11:"):]
        with self._lock:
            key = self._keys.get(label)
            if key is None:
                key = self._keys[label] = self._object(label)
            digest = key.sign(message, mechanism=Mechanism.SHA256_HMAC)
        return digest[:8 if meter["algorithm"] == "sta" else 16]

    def mac(self, data):
        from pkcs11 import Mechanism
        with self._lock:
            if self._audit_key is None:
                self._audit_key = self._object(AUDIT_LABEL)
            return self._audit_key.sign(bytes(data), mechanism=Mechanism.SHA256_HMAC).hex()

    def new_command_root(self):
        """A new command root made inside the module (a fresh label each time, so one made
        for a transaction that rolled back never meets the one that commits); returns its
        ``settings.command_root`` value, which names it."""
        import pkcs11
        from pkcs11 import Attribute, KeyType
        label = COMMAND_ROOT_LABEL + os.urandom(8).hex()
        with self._lock:
            try:
                self._command_root = self._session.generate_key(
                    KeyType.GENERIC_SECRET, 256, label=label, id=label.encode(), store=True,
                    template=_secret_key_template(label, {Attribute.SIGN: True}))
            except pkcs11.PKCS11Error as exc:
                raise VendError("the PKCS#11 token cannot make the command root: %s" % exc.__class__.__name__)
        return json.dumps({"custody": self.kind, "label": label}, sort_keys=True)

    def open_command_root(self, value):
        named = json.loads(value)
        if named.get("custody") != self.kind or not str(named.get("label", "")).startswith(COMMAND_ROOT_LABEL):
            raise VendError("the command root is held by a %s custody, not this one" % named.get("custody"))
        with self._lock:
            self._command_root = self._object(named["label"])

    def _root_hmac(self, message):
        from pkcs11 import Mechanism
        root = self._need_root()
        with self._lock:
            return bytes(root.sign(bytes(message), mechanism=Mechanism.SHA256_HMAC))

    def close(self):
        with self._lock:
            self._keys.clear()
            self._audit_key = None
            self._command_root = None
            self._session.close()
