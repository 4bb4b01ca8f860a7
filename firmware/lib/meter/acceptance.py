"""Token acceptance on the meter: the STS rules between the keypad and the credit register.

A token's journey here: 20 digits -> class (from the digits alone) -> lockout check ->
decode with the meter's decoder key (``tokens.decode``) -> key, TID and tamper rules ->
the meter core applies it -> one IEC 62055-41 result for the display.

Rules and the choices where the standard's text is not public (sts.md section 10):

* TID memory: the newest ``TID_MEMORY`` accepted TIDs, shared by credit and management
  tokens. A TID in memory is **Used**. A TID older than the oldest the memory still
  remembers is **Old**: below the memory's oldest once it is full, and at or below
  ``floor`` (the TID of the provisioning minute, which fills the memory until real TIDs
  do, then the newest TID the memory dropped). A never-used token older than what the
  memory remembers is Old too, as in STS: the meter cannot tell it from a used one. The
  memory drops its oldest only when a newer token is accepted, so a refused token never
  moves the boundary; the rule reads the saved list itself, so it holds after a power
  cut and for records saved by earlier firmware. A rollover key change (RO bit) clears
  the memory; any other key change keeps it.
* Key expiry: a TID-bearing token is **Key expired** when ``tid >> 16 > KEN``, i.e. the
  top 8 bits of its 24-bit TID pass the key expiry number (KEN 255: never).
* DDTK: credit tokens are refused while the meter holds a default key (KT 1).
* Key type transitions: nothing changes to KT 0 (initialisation keys are set at
  manufacture only); a unique (2) or common (3) key never goes back to default (1).
* Lockout: tokens that fail to decode (Format, CRC) count as failures; from the 3rd
  failure on, token entry locks for 10 s, doubling per further failure up to 1,280 s.
  Class 1 tokens still work; an accepted token resets the count; the count and the end
  of the lockout are saved, so pulling the plug does not reset them.
* Power cuts: the TID goes into memory together with a ``pending`` note in one save
  *before* the token is applied; the meter core saves its top-up before returning. At
  start-up a pending note whose top-up the core has not counted is applied then, so a
  cut at any instant neither loses a token nor applies it twice.
* The decoder key lives only in the key partition (``meter.keystore``), with its identity
  (KRN, KT, TI, KEN, SGC) and ``gen``, the number of key changes. A key change saves it
  there first (the old key's sector is erased), then this record follows (identity copy,
  ``key_gen``, a rollover's cleared TID memory); a cut between the two is finished at
  start-up, when ``key_gen`` is behind.
"""
from const import const
from tokens.decode import decode
from tokens.digits import extract_class, parse_digits
from tokens.errors import DecodeError

TID_MEMORY = const(50)
_HISTORY = const(10)
_KCT_TIMEOUT_S = const(600)
_FREE_FAILURES = const(2)
_LOCKOUT_FIRST_S = const(10)
_LOCKOUT_MAX_S = const(1280)

RESULT_CODES = {
    "Accept": 1, "1stKCT": 2, "2ndKCT": 3, "Overflow": 4, "Key type": 5, "Format": 6,
    "Range": 7, "Function": 8, "Old": 9, "Used": 10, "Key expired": 11, "DDTK": 12,
    "CRC": 13, "Mfr code": 14, "Token lockout": 15, "Tamper": 17,
}
UTILITY_SUBCLASS = {"electricity": 0, "water": 1, "gas": 2, "heat": 0, "time": 3}


class Outcome:
    """The answer to one token: the IEC result and what the display should say."""

    def __init__(self, result, token_class=None, subclass=None, tid=None, amount=None,
                 actions=None):
        self.result = result
        self.code = RESULT_CODES[result]
        self.token_class = token_class
        self.subclass = subclass
        self.tid = tid
        self.amount = amount          # what the token carried, in its own unit, or None
        self.actions = actions or []  # class 1: ("show", label, value, unit) or ("test", what)
        self.credit_micro = None      # balance after the token (credit micro)
        self.failures = 0             # failed tokens in a row, for "Reject-x"
        self.lockout_s = 0            # seconds of lockout left

    @property
    def accepted(self):
        return self.result in ("Accept", "1stKCT", "2ndKCT")

    def __repr__(self):
        return "<Outcome %s>" % self.result


def lockout_seconds(failures):
    """10 s at the 3rd failure, doubling up to 1,280 s."""
    if failures <= _FREE_FAILURES:
        return 0
    if failures >= 40:
        return _LOCKOUT_MAX_S
    seconds = _LOCKOUT_FIRST_S << (failures - _FREE_FAILURES - 1)
    return seconds if seconds < _LOCKOUT_MAX_S else _LOCKOUT_MAX_S


def is_old(rec, tid):
    """Older than the oldest TID the memory still remembers: at or below the floor, or
    below the oldest of a full memory."""
    tids = rec["tids"]
    return tid <= rec["floor"] or (len(tids) >= TID_MEMORY and tid < tids[0])


def key_type_allowed(old_kt, new_kt):
    if new_kt == 0:
        return False
    return not (old_kt >= 2 and new_kt == 1)


def _hex_bytes(text):
    return bytes(int(text[i:i + 2], 16) for i in range(0, len(text), 2))


def _hex(data):
    return "".join("%02x" % b for b in data)


KEY_IDENTITY = ("algorithm", "krn", "kt", "ti", "ken", "sgc")


def new_key_record(sts_cfg):
    """The key partition's record at provisioning: the decoder key and its identity."""
    return {"key": sts_cfg["key"], "algorithm": sts_cfg["algorithm"], "krn": sts_cfg["krn"],
            "kt": sts_cfg["kt"], "ti": sts_cfg["ti"], "ken": sts_cfg.get("ken", 255),
            "sgc": sts_cfg["sgc"], "gen": 0, "rollover": False}


def new_record(key_record, floor_tid):
    """The acceptance state at provisioning: the key's identity (never the key)."""
    rec = {"key_gen": key_record["gen"],
           "tids": [], "floor": floor_tid,
           "failures": 0, "locked_until": 0,
           "history": [], "pending": None}
    for k in KEY_IDENTITY:
        rec[k] = key_record[k]
    return rec


class TokenAcceptor:
    """Applies tokens to a ``meter.core.Meter`` under the STS rules; state in record "tokens",
    the key in ``keys`` (a ``meter.keystore.KeyStore``; without one, tests and tools keep
    ``sts_cfg``'s key in RAM). An empty key store takes ``sts_cfg``'s key."""

    def __init__(self, meter, store, sts_cfg, now, floor_tid=0, keys=None, drn=None):
        self.meter = meter
        self.store = store
        self.mfr_code = sts_cfg.get("manufacturer_code", 0)
        self.drn = drn                # the meter's number, for the DRN test display
        self.utility = meter.cfg["utility"]
        self.currency = meter.cfg["credit_mode"] == "currency"
        self.rate_unit_micro = sts_cfg.get("tariff_rate_unit_micro", 1000)
        self.kct = {}                 # key change parts received: subclass -> fields
        self.kct_t = 0
        if keys is None:
            from meter.keystore import MemoryKeyStore
            keys = MemoryKeyStore()
        self.keys = keys
        key_record = keys.load()
        if key_record is None:
            key_record = new_key_record(sts_cfg)
            keys.save(key_record)
        record = store.load("tokens")
        if record is None:
            record = new_record(key_record, floor_tid)
            self._save_record(record)
        self.rec = record
        if record.get("key_gen") != key_record["gen"]:
            self._follow_key(key_record)
        self._key = _hex_bytes(key_record["key"])
        self._finish_pending(now)

    # ------------------------------------------------------------------ entry
    def enter(self, now, digits):
        """One token typed and Enter pressed: apply it and return an Outcome."""
        outcome = self._enter(now, digits)
        self._remember(now, outcome)
        outcome.credit_micro = self.meter.balance_micro()
        outcome.failures = self.rec["failures"]
        outcome.lockout_s = self.lockout_s(now)
        return outcome

    def key_identity(self):
        """The current key's identity (KRN, KT, TI, KEN, SGC, algorithm): never the key."""
        out = {}
        for k in KEY_IDENTITY:
            out[k] = self.rec[k]
        return out

    def lockout_s(self, now):
        left = self.rec["locked_until"] - now
        return left if left > 0 else 0

    def history(self):
        """The last tokens, newest first: [time, result, class, subclass, amount]."""
        return list(reversed(self.rec["history"]))

    def last(self):
        return self.rec["history"][-1] if self.rec["history"] else None

    def _enter(self, now, digits):
        try:
            token_class, _ = extract_class(parse_digits(digits))
        except DecodeError as exc:
            return self._failed(now, exc.result)
        if token_class == 1:
            return self._class1(now, digits)
        if self.lockout_s(now):
            return Outcome("Token lockout", token_class)
        try:
            token = decode(digits, self._key, self.rec["algorithm"])
        except DecodeError as exc:
            if exc.result in ("Format", "CRC"):
                return self._failed(now, exc.result)
            return Outcome(exc.result, token_class)
        if token.tid is None:
            outcome = self._key_change(now, token)
        else:
            outcome = self._tid_token(now, token)
        if outcome.accepted and self.rec["failures"]:
            self.rec["failures"] = 0
            self.rec["locked_until"] = 0
            self._save_record(self.rec)
        return outcome

    def _failed(self, now, result):
        rec = self.rec
        rec["failures"] += 1
        seconds = lockout_seconds(rec["failures"])
        if seconds:
            rec["locked_until"] = now + seconds
        self._save_record(rec)
        return Outcome(result)

    # ------------------------------------------------------------ TID-bearing tokens
    def _tid_token(self, now, token):
        rec = self.rec
        fields = token.fields
        result = self._check_tid_token(token)
        if result:
            return Outcome(result, token.token_class, token.subclass, token.tid)
        amount = fields.get("value")
        if token.token_class == 0:
            rec["pending"] = {"tid": token.tid, "kind": "credit", "subclass": token.subclass,
                              "amount": amount, "topups": self.meter.credit["topups"]}
        else:
            rec["pending"] = {"tid": token.tid, "kind": "manage", "subclass": token.subclass,
                              "value": fields.get("register", amount)}
        self._remember_tid(token.tid)
        self._save_record(rec)
        result = self._apply(now, rec["pending"])
        self._settle(token.tid, result)
        rec["pending"] = None
        self._save_record(rec)
        return Outcome(result, token.token_class, token.subclass, token.tid, amount)

    def _check_tid_token(self, token):
        rec = self.rec
        if token.tid >> 16 > rec["ken"]:
            return "Key expired"
        if token.tid in rec["tids"]:
            return "Used"
        if is_old(rec, token.tid):
            return "Old"
        if token.token_class == 0:
            if rec["kt"] == 1:
                return "DDTK"
            if token.subclass & 3 != UTILITY_SUBCLASS.get(self.utility, 0):
                return "Function"
            if (token.subclass >= 4) != self.currency:
                return "Function"
        return None

    def _remember_tid(self, tid):
        tids = self.rec["tids"]
        tids.append(tid)
        tids.sort()

    def _settle(self, tid, result):
        """After the meter's answer: an accepted TID stays and pushes the oldest out of
        a full memory; a refused one leaves, so the token stays unused."""
        rec = self.rec
        tids = rec["tids"]
        if result != "Accept":
            if tid in tids:
                tids.remove(tid)
            return
        while len(tids) > TID_MEMORY:
            rec["floor"] = tids.pop(0)

    def _apply(self, now, pending):
        """Hand the token to the meter core; returns the IEC result."""
        meter = self.meter
        sub = pending["subclass"]
        if pending["kind"] == "credit":
            if sub >= 4:
                answer = meter.add_currency_credit(now, pending["amount"])
            else:
                answer = meter.add_unit_credit(now, pending["amount"])
            return {"accepted": "Accept", "overflow": "Overflow", "tamper": "Tamper"}.get(
                answer, "Function")
        value = pending["value"]
        if sub == 0:
            answer = meter.set_max_power(now, value)
        elif sub == 1:
            answer = meter.clear_credit(now, value)
        elif sub == 2:
            if value == 0:
                return "Range"
            answer = meter.set_tariff_rate(now, 1, value * self.rate_unit_micro)
        elif sub == 5:
            meter.clear_tamper(now)
            answer = "accepted"
        elif sub == 6:
            answer = meter.set_unbalance_limit(now, value)
        elif sub == 7:
            if self.utility != "water":
                return "Function"
            if value == 0:
                return "Range"
            answer = meter.set_water_factor(now, value)
        else:
            return "Function"
        return "Accept" if answer == "accepted" or isinstance(answer, tuple) else "Range"

    def _finish_pending(self, now):
        """At start-up: complete a token whose application a power cut interrupted."""
        pending = self.rec["pending"]
        if pending is None:
            return
        if pending["kind"] == "credit" and self.meter.credit["topups"] > pending["topups"]:
            result = "Accept"               # the core saved the top-up before the cut
        else:
            result = self._apply(now, pending)   # management tokens are idempotent
        self._settle(pending["tid"], result)
        self.rec["pending"] = None
        self._save_record(self.rec)

    # ------------------------------------------------------------------ key change
    def _key_change(self, now, token):
        rec = self.rec
        if self.kct and now - self.kct_t > _KCT_TIMEOUT_S:
            self.kct = {}
        if not self.kct:
            self.kct_t = now
        self.kct[token.subclass] = token.fields
        parts = self.kct
        first = parts.get(3)
        if first is not None and not key_type_allowed(rec["kt"], first["kt"]):
            self.kct = {}
            return Outcome("Key type", 2, token.subclass)
        misty = rec["algorithm"] == "misty1"
        needed = (3, 4, 8, 9) if misty else ((3, 4, 8) if first and first["three_tokens"] else (3, 4))
        if any(sub not in parts for sub in needed):
            return Outcome("1stKCT" if token.subclass == 3 else "2ndKCT", 2, token.subclass)
        second = parts[4]
        key_record = self.keys.load()
        words = [first["key_part"]]
        if misty:
            words += [parts[8]["key_part"], parts[9]["key_part"]]
            key_record["sgc"] = parts[9]["sgc_part"] << 12 | parts[8]["sgc_part"]
        elif 8 in parts:
            key_record["sgc"] = parts[8]["sgc"]
        words.append(second["key_part"])
        key = b"".join(bytes(((w >> 24) & 255, (w >> 16) & 255, (w >> 8) & 255, w & 255))
                       for w in words)
        key_record["key"] = _hex(key)
        key_record["krn"], key_record["kt"] = first["krn"], first["kt"]
        key_record["ti"] = second["ti"]
        key_record["ken"] = first["ken_high"] << 4 | second["ken_low"]
        key_record["gen"] += 1
        key_record["rollover"] = first["rollover"]
        self.keys.save(key_record)      # the change lands here; the old key is erased
        self._key = key
        self.kct = {}
        self._follow_key(key_record)
        self.meter.events.add(now, "token", "key_change", rec["krn"])
        return Outcome("Accept", 2, token.subclass)

    def _follow_key(self, key_record):
        """This record takes the key partition's identity (and a rollover's fresh TID
        memory): after a key change, or at start-up when a cut fell between the two."""
        rec = self.rec
        for k in KEY_IDENTITY:
            rec[k] = key_record[k]
        if key_record["rollover"]:
            rec["tids"] = []
            rec["floor"] = 0
        rec["key_gen"] = key_record["gen"]
        self._save_record(rec)

    # ------------------------------------------------------------------ class 1
    def _class1(self, now, digits):
        try:
            token = decode(digits, None, "sta")
        except DecodeError as exc:
            return Outcome(exc.result, 1)       # not meter-specific: no lockout count
        fields = token.fields
        if token.subclass > 1:
            return Outcome("Function", 1, token.subclass)
        from meter import testtoken      # at the first test token: most meters never see one
        if not testtoken.addressed(fields["manufacturer_code"], self.mfr_code):
            return Outcome("Mfr code", 1, token.subclass)
        steps = testtoken.actions(fields["control"], self.meter, self.rec, self.drn)
        if not steps:                               # only bits the standard leaves undefined
            return Outcome("Function", 1, token.subclass)
        return Outcome("Accept", 1, token.subclass, actions=steps)

    # ------------------------------------------------------------------ records
    def _remember(self, now, outcome):
        history = self.rec["history"]
        history.append([now, outcome.result, outcome.token_class, outcome.subclass, outcome.amount])
        while len(history) > _HISTORY:
            history.pop(0)
        # Failures and TID changes were saved already; history rides on the next save
        # unless the token changed nothing else, to keep flash writes bounded.
        if outcome.accepted:
            self._save_record(self.rec)

    def _save_record(self, record):
        self.store.save("tokens", record)
