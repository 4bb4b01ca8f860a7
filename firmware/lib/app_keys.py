"""Secrets at rest, at boot: what meter.json brings that is secret moves into the key
partition (``meter.keystore``) once, and out of the file. ``App`` calls ``take`` before
anything else is saved; like ``app_config`` it is dropped once the meter has booted.

Provisioning delivers the decoder key once, as ``sts.key`` in meter.json
(``app_config.SECRETS`` lists the secret fields). Every step survives a power cut at any
instant; the next boot takes up the first step not done:

1. The key partition: an empty one takes the file's key with its identity
   (``acceptance.new_key_record``). One that holds a key keeps it: a key is imported
   once and changed by key change tokens only, so the file's key is ignored. When the
   file lives on copy-on-write flash, the record is marked ``scrub`` in the same save.
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
from meter.acceptance import new_key_record
from meter.errors import ConfigError

FILL = ".scrub"         # the scrub's file, beside meter.json
CHURN_BYTES = 100       # each rewrite commits at least this (LittleFS keeps <= 128 inline)
ENOSPC = 28


def take(keys, sts, raw, path, scrub_dir=None):
    """The key record, after meter.json's secrets (``raw``, checked ``sts``; the file at
    ``path``) have been moved into ``keys``."""
    in_file = file_secrets(raw)
    if scrub_dir is not None:
        _remove(_join(scrub_dir, FILL))      # a cut in a scrub may have left it
    record = keys.load()
    if record is None:
        if sts["key"] is None:
            raise ConfigError("sts.key: this meter has no decoder key: provisioning "
                              "delivers it once in meter.json")
        record = new_key_record(sts)
        if scrub_dir is not None:
            record["scrub"] = True
        keys.save(record)
    elif in_file:
        print("meter.json: sts.key ignored: the meter keeps the key it holds (KRN %d); "
              "key change tokens change it" % record["krn"])
        if scrub_dir is not None and not record.get("scrub"):
            record["scrub"] = True
            keys.save(record)
    if in_file:
        blank(path, in_file)
    if record.get("scrub"):
        if scrub_dir is not None:
            scrub(scrub_dir)
        record.pop("scrub")
        keys.save(record)
    return record


def file_secrets(raw):
    """The secret values (strings) the parsed meter.json holds."""
    found = []
    for section, field in SECRETS:
        part = raw.get(section)
        if isinstance(part, dict) and isinstance(part.get(field), str):
            found.append(part[field])
    return found


def _clean(cfg):
    """Whether no secret field of the parsed configuration holds a value."""
    for section, field in SECRETS:
        part = cfg.get(section)
        if isinstance(part, dict) and part.get(field) is not None:
            return False
    return True


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
    if spans is not None and _clean(json.loads(edited)):
        with open(path, "r+b") as f:
            for at, n in spans:
                f.seek(at)
                f.write(edited[at:at + n])
        return
    cfg = json.loads(text)
    for section, field in SECRETS:
        if isinstance(cfg.get(section), dict) and field in cfg[section]:
            cfg[section][field] = None
    with open(path + ".new", "w") as f:
        json.dump(cfg, f)
    os.rename(path + ".new", path)


def scrub(directory):
    """Erase what copy-on-write left of rewritten files in ``directory``'s filesystem."""
    fill = _join(directory, FILL)
    block = os.statvfs(directory)[0]
    churn = b" " * CHURN_BYTES
    for _ in range(2 * (block // CHURN_BYTES + 1)):
        with open(fill, "wb") as f:
            f.write(churn)
    chunk = bytes(block)
    try:
        with open(fill, "wb") as f:
            while True:
                f.write(chunk)
    except OSError as exc:
        if exc.errno != ENOSPC:
            raise
    os.remove(fill)


def _join(directory, name):
    return directory.rstrip("/") + "/" + name


def _remove(path):
    try:
        os.remove(path)
    except OSError:         # not there
        pass
