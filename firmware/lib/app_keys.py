"""Secrets at rest, at boot: what meter.json brings that is secret moves into the key
partition (``meter.keystore``), and out of the file. ``App`` calls ``take`` before
anything else is saved; like ``app_config`` it is dropped once the meter has booted.

``app_config.SECRETS`` lists the secret fields and their names in the key record: the
decoder key (``sts.key``), delivered once at provisioning, and the optical port's
passwords (``ir.passwords``). Every step survives a power cut at any instant; the next
boot takes up the first step not done:

1. The key partition: an empty one takes the file's key with its identity
   (``acceptance.new_key_record``). One that holds a key keeps it: a key is imported
   once and changed by key change tokens only, so the file's key is ignored. Other
   secrets the file brings replace those held (a technician's new passwords). When the
   file lives on copy-on-write flash, the record is marked ``scrub``; all in one save.
2. The file: each secret's JSON string is overwritten in place by ``null`` and spaces,
   so the file keeps its length and is valid JSON at every instant; where the filesystem
   writes in place (the simulator keeps meter.json on the host's disk) the bytes that
   held the key are the ones overwritten. A file where that cannot be done safely (the
   key written with escapes, or twice) is rewritten whole and renamed over the old one.
3. Scrub, where the board says meter.json lives on copy-on-write flash
   (``board.config_scrub_dir``: LittleFS on the ESP32), which only frees the block that
   held the key: the directory's metadata is compacted twice (a small file rewritten
   until both blocks of its pair have been erased: a small meter.json's data is kept
   there) and every free block is erased, by filling the filesystem with a file and
   removing it. Once per meter: ~500 block erases on a 2 MB partition.
4. The key partition: ``scrub`` cleared.

Later boots have nothing to do and write nothing.
"""
import json
import os

from app_config import SECRETS
from const import const
from meter.acceptance import new_key_record
from meter.errors import ConfigError

FILL = ".scrub"         # the scrub's file, beside meter.json
_CHURN_BYTES = const(100)   # each rewrite commits at least this (LittleFS keeps <= 128 inline)
_ENOSPC = const(28)


def take(keys, sts, raw, path, scrub_dir=None):
    """The key record, after meter.json's secrets (``raw``, checked ``sts``; the file at
    ``path``) have been moved into ``keys``."""
    in_file = file_secrets(raw)
    if scrub_dir is not None:
        _remove(_join(scrub_dir, FILL))      # a cut in a scrub may have left it
    record = keys.load()
    fresh = record is None
    if fresh:
        if sts["key"] is None:
            raise ConfigError("sts.key: this meter has no decoder key: provisioning "
                              "delivers it once in meter.json")
        record = new_key_record(sts)
    changed = fresh
    for name, value in in_file:
        if name == "key":
            if not fresh:
                print("meter.json: sts.key ignored: the meter keeps the key it holds "
                      "(KRN %d); key change tokens change it" % record["krn"])
        elif record.get(name) != value:
            record[name] = value
            changed = True
    if in_file and scrub_dir is not None and not record.get("scrub"):
        record["scrub"] = True
        changed = True
    if changed:
        keys.save(record)
    if in_file:
        blank(path, [value for _, value in in_file])
    if record.get("scrub"):
        if scrub_dir is not None:
            scrub(scrub_dir)
        record.pop("scrub")
        keys.save(record)
    return record


def _parent(cfg, path):
    """(the object holding the field at dotted ``path``, the field's name), or None."""
    parts = path.split(".")
    for part in parts[:-1]:
        cfg = cfg.get(part) if isinstance(cfg, dict) else None
    return (cfg, parts[-1]) if isinstance(cfg, dict) else None


def file_secrets(raw):
    """(name in the key record, value) of each secret the parsed meter.json holds."""
    found = []
    for field, name in SECRETS:
        at = _parent(raw, field)
        if at is not None and isinstance(at[0].get(at[1]), str):
            found.append((name, at[0][at[1]]))
    return found


def blank(path, values):
    """Overwrite the JSON strings holding ``values`` in the file by ``null`` and spaces."""
    with open(path, "rb") as f:
        text = f.read()
    edited = bytearray(text)
    spans = []
    for value in values:
        quoted = b'"' + value.encode() + b'"'
        at = text.find(quoted)
        if at < 0 or text.find(quoted, at + 1) >= 0:
            spans = None
            break
        spans.append((at, len(quoted)))
        edited[at:at + len(quoted)] = b"null" + b" " * (len(quoted) - 4)
    if spans is not None and not file_secrets(json.loads(edited)):
        with open(path, "r+b") as f:
            for at, n in spans:
                f.seek(at)
                f.write(edited[at:at + n])
        return
    cfg = json.loads(text)
    for field, _ in SECRETS:
        at = _parent(cfg, field)
        if at is not None and at[1] in at[0]:
            at[0][at[1]] = None
    with open(path + ".new", "w") as f:
        json.dump(cfg, f)
    os.rename(path + ".new", path)


def scrub(directory):
    """Erase what copy-on-write left of rewritten files in ``directory``'s filesystem."""
    fill = _join(directory, FILL)
    block = os.statvfs(directory)[0]
    churn = b" " * _CHURN_BYTES
    for _ in range(2 * (block // _CHURN_BYTES + 1)):
        with open(fill, "wb") as f:
            f.write(churn)
    chunk = bytes(block)
    try:
        with open(fill, "wb") as f:
            while True:
                f.write(chunk)
    except OSError as exc:
        if exc.errno != _ENOSPC:
            raise
    os.remove(fill)


def _join(directory, name):
    return directory.rstrip("/") + "/" + name


def _remove(path):
    try:
        os.remove(path)
    except OSError:         # not there
        pass
