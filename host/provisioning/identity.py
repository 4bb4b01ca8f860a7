"""What identifies a meter's firmware and settings, computed alike on the host (over the
bundle) and on the meter (over its flash, through the console): the firmware hash, and
the configuration hash over ``meter.json`` without its secrets."""
import hashlib
import json

from host.provisioning.meter_secrets import SECRETS, without_secrets

FIRMWARE_FILES = ("boot.py", "main.py")


def firmware_hash(files):
    """sha256 over the firmware's files, boot.py, main.py and lib/ (path NUL bytes NUL, in
    path order): the same code gives the same hash on any meter, whatever its settings
    and records."""
    h = hashlib.sha256()
    for path in sorted(files):
        if path in FIRMWARE_FILES or path.startswith("lib/"):
            h.update(path.encode() + b"\0" + files[path] + b"\0")
    return h.hexdigest()


def config_hash(config):
    """sha256 of the configuration as canonical JSON, secrets set to null (as the meter
    keeps it once they are in its key partition)."""
    clean, _ = without_secrets(config)
    return hashlib.sha256(json.dumps(clean, sort_keys=True, separators=(",", ":"))
                          .encode()).hexdigest()


# Runs on the meter (MicroPython, in the raw REPL, in the filesystem's root): identity,
# the secrets meter.json still holds, whether the meter has a TID memory (its record
# "tokens" in data/, meter.store), firmware_hash() over boot.py, main.py and lib/; one
# JSON line.
ON_METER = """
import json, os, hashlib
def walk(top):
    out = []
    for entry in os.ilistdir(top):
        path = top + '/' + entry[0]
        out += walk(path) if entry[1] == 0x4000 else [path]
    return out
files = [r for r in ('boot.py', 'main.py') if r in os.listdir()]
try:
    files += walk('lib')
except OSError:
    pass
h = hashlib.sha256()
for r in sorted(files):
    h.update(r.encode() + b'\\0')
    with open(r, 'rb') as f:
        h.update(f.read())
    h.update(b'\\0')
try:
    with open('meter.json') as f:
        c = json.load(f)
except (OSError, ValueError):
    c = {}
ident = c.get('identity') or {}
held = []
for s in SECRETS:
    v = c
    for n in s.split('.'):
        v = v.get(n) if isinstance(v, dict) else None
    if v is not None:
        held.append(s)
try:
    tid_memory = any(n.startswith('tokens.') for n in os.listdir('data'))
except OSError:
    tid_memory = False
print(json.dumps({'serial': ident.get('serial'), 'pan': ident.get('pan'),
                  'secrets_in_file': held, 'tid_memory': tid_memory,
                  'firmware_hash': ''.join('%02x' % b for b in h.digest())}))
""".replace("SECRETS", repr(SECRETS), 1)
