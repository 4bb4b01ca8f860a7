"""The jobs ``prepay read`` does, in a meter reader's and a technician's words: read out,
read chosen registers, set the clock, load a tariff, send a token, list events, walk a
route. Each opens the port, does its job and closes it (B0 ends programming mode)."""
import contextlib
import csv
import datetime
import json
import re

from host.parse import date_time
from host.readout.client import MeterRefused, ModeCClient, ReadoutError
from host.readout.obis import meaning

TOKEN_RESULTS = {1: "Accept", 2: "1stKCT", 3: "2ndKCT", 4: "Overflow", 5: "Key type",
                 6: "Format", 7: "Range", 8: "Function", 9: "Old", 10: "Used",
                 11: "Key expired", 12: "DDTK", 13: "CRC", 14: "Mfr code",
                 15: "Token lockout", 16: "not ready", 17: "Tamper"}
CSV_FIELDS = ("port", "address", "read_at", "status", "error", "obis", "value", "unit",
              "meaning")


def row(code, value, unit):
    return {"obis": code, "value": value, "unit": unit, "meaning": meaning(code)}


def readout(port, address="", **options):
    """The meter's data readout as rows (obis, value, unit, meaning)."""
    with ModeCClient(port, address, **options) as client:
        return [row(*data_set) for data_set in client.readout()]


@contextlib.contextmanager
def programming(port, password, address="", **options):
    with ModeCClient(port, address, **options) as client:
        client.program(password)
        yield client


def read_codes(port, codes, password, address="", **options):
    """Chosen registers through programming mode (R1), in the order asked."""
    rows = []
    with programming(port, password, address, **options) as client:
        for code in codes:
            rows.extend(row(*data_set) for data_set in client.read(code))
    return rows


def stamp(when):
    """'2026-11-23T08:00[:SS]' or 'now' -> YYMMDDhhmmss (the meter's local time)."""
    if when == "now":
        t = datetime.datetime.now()
    else:       # not fromisoformat: it takes '+03:00', which strftime below would drop
        t = date_time(when, "time")
    if not 2000 <= t.year <= 2099:
        raise ReadoutError("the meter's calendar runs from 2000 to 2099")
    return t.strftime("%y%m%d%H%M%S")


def set_clock(port, password, when="now", address="", **options):
    with programming(port, password, address, **options) as client:
        value = stamp(when)
        if not client.write("0-0:1.0.0", value):
            raise MeterRefused("the meter refused the clock")
        return client.read("0-0:1.0.0")[0][1]


def set_tariff(port, password, table, start, address="", **options):
    """Load ``table`` (the configuration's tariff table, a dict) as the pending table
    taking over at ``start``; returns what the meter then holds as pending."""
    value = "%s;%s" % (stamp(start), json.dumps(table, separators=(",", ":")))
    with programming(port, password, address, **options) as client:
        if not client.write("0-0:128.20.1", value):
            raise MeterRefused("the meter answered NAK to the tariff table")
        return client.read("0-0:128.20.1")[0][1]


PASSWORD_CODES = {"reader": "0-0:128.50.1", "technician": "0-0:128.50.2"}


def set_password(port, password, level, new, address="", **options):
    """Give the meter a new password for ``level`` (technician's session); the meter
    asks for it from the next sign-on."""
    with programming(port, password, address, **options) as client:
        if not client.write(PASSWORD_CODES[level], new):
            raise MeterRefused("the meter answered NAK to the new password")


def send_token(port, password, digits, address="", **options):
    """Deliver a token through the virtual token carrier: (accepted, result name)."""
    digits = re.sub(r"[\s-]", "", digits)
    if not re.fullmatch(r"\d{20}", digits):
        raise ReadoutError("a token is 20 digits")
    with programming(port, password, address, **options) as client:
        accepted = client.write("0-0:19.40.0", digits)
        code = int(client.read("0-0:128.40.0")[0][1])
    return accepted, TOKEN_RESULTS.get(code, str(code))


def write(port, password, code, value, address="", **options):
    with programming(port, password, address, **options) as client:
        if not client.write(code, value):
            raise MeterRefused("the meter answered NAK to %s" % code)


def events(port, password, count=0, address="", **options):
    """The event log, newest first: dicts seq, time, kind, detail, value."""
    with programming(port, password, address, **options) as client:
        lines = client.read("0-0:99.98.0", str(count) if count else "")
    out = []
    for _, value, _ in lines:
        seq, when, kind, detail, number = value.split(";")
        out.append({"seq": int(seq), "time": iso(when), "kind": kind, "detail": detail,
                    "value": int(number)})
    return out


def iso(text):
    return "20%s-%s-%sT%s:%s:%s" % (text[0:2], text[2:4], text[4:6], text[6:8], text[8:10],
                                    text[10:12])


def route(targets, out, progress, **options):
    """Read each (port, address) in turn into one CSV (``out``, a text file): a row per
    register, a meter that fails is one row with its error and the route goes on.
    ``progress(target, ok)`` is called after each. Returns (read, failed)."""
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS)
    writer.writeheader()
    done = failed = 0
    for port, address in targets:
        at = datetime.datetime.now().isoformat(timespec="seconds")
        base = {"port": port, "address": address, "read_at": at}
        try:
            rows = readout(port, address, **options)
        except ReadoutError as exc:
            failed += 1
            writer.writerow(dict(base, status="failed", error=str(exc)))
            progress((port, address), False)
        else:
            done += 1
            for r in rows:
                writer.writerow(dict(base, status="ok", **r))
            progress((port, address), True)
        out.flush()
    return done, failed
