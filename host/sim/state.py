"""The state directory of ``prepay sim``: it belongs to one meter.

``DIR/meter.json`` is the meter's configuration, ``DIR/flash.img`` its registers and
``DIR/world.json`` the world around it. A configuration given again must be the one the
directory holds: another meter's (or the same meter's changed) would run over registers
it never wrote. ``reprovision`` wipes the meter's files and starts afresh, as a
technician re-provisions a meter, and only when asked.

The decoder key is delivered once: the meter moves it into its key partition at its first
boot and blanks it in ``DIR/meter.json`` (``firmware/lib/app_keys.py``). Configurations
are compared without their secrets, and the same meter's configuration given again
leaves the state's file as it is, so the key is not written to disk a second time.
"""
import json
import os

from host import textfile
from host.errors import UserError
from host.provisioning.meter_secrets import without_secrets

CONFIG = "meter.json"
METER_FILES = (CONFIG, "flash.img", "world.json", "world.json.tmp")   # what a meter leaves


def read_config(path):
    """A METER.json for the sim board (``board.name`` set to ``sim``); UTF-8 or UTF-16
    text and strict JSON (``host.textfile``)."""
    config = textfile.read_json(path, "meter configuration")
    if not isinstance(config, dict):
        raise UserError("%s must hold a JSON object (the meter configuration)" % path)
    board = config.get("board") or {}
    if not isinstance(board, dict) or board.get("name", "sim") != "sim":
        raise UserError("%s is for the %r board; the simulator runs board 'sim'"
                        % (path, board.get("name") if isinstance(board, dict) else board))
    config["board"] = dict(board, name="sim")
    return config


def describe(config):
    """'meter 600727000000000025 (electricity, board variant electricity)', from its identity."""
    identity = config.get("identity") if isinstance(config.get("identity"), dict) else {}
    board = config.get("board") if isinstance(config.get("board"), dict) else {}
    return "meter %s (%s, board variant %s)" % (identity.get("pan", "without a PAN"),
                                                 config.get("utility", "no utility"),
                                                 board.get("variant", "none"))


def differences(old, new, prefix=""):
    """Dotted names of the settings that differ (names only: values may be secret)."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return [] if old == new else [prefix.rstrip(".") or "the whole file"]
    names = []
    for key in sorted(set(old) | set(new), key=str):
        names += differences(old.get(key), new.get(key), "%s%s." % (prefix, key))
    return names


def meter_files(state):
    return [name for name in METER_FILES if os.path.exists(os.path.join(state, name))]


def prepare_state(state, config_path=None, reprovision=False):
    """Make ``state`` ready for a run: refuse a configuration that is not its meter's,
    or, with ``reprovision``, wipe the meter it holds first. Returns the files wiped."""
    if reprovision and not config_path:
        raise UserError("--reprovision needs --config METER.json: the meter to start afresh")
    if os.path.exists(state) and not os.path.isdir(state):
        raise UserError("cannot use %s as the state directory: it is a file" % state)
    config = read_config(config_path) if config_path else None     # refused: nothing made
    try:
        os.makedirs(state, exist_ok=True)
    except OSError as exc:
        raise UserError("cannot use %s as the state directory: %s" % (state, exc.strerror))
    target = os.path.join(state, CONFIG)
    if not config_path:
        if not os.path.exists(target):
            raise UserError("%s has no meter.json yet: give --config METER.json" % state)
        return []
    found = meter_files(state)
    if found and not reprovision:
        refuse_another_meter(state, target, config, config_path, found)
        return []                       # its own configuration, as the meter keeps it
    wiped = found if reprovision else []
    for name in wiped:
        os.remove(os.path.join(state, name))
    tmp = target + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(config, f, indent=1)
    os.replace(tmp, target)
    return wiped


def refuse_another_meter(state, target, config, config_path, found):
    """The state holds a meter: the configuration must be the one it was provisioned with."""
    again = "use another --state, or --reprovision to wipe it and start afresh"
    if CONFIG not in found:
        raise UserError("%s holds a meter's %s but no meter.json: %s"
                        % (state, " and ".join(found), again))
    try:
        held = read_config(target)
    except UserError:
        raise UserError("%s holds a meter whose meter.json is unreadable: %s" % (state, again))
    held, config = without_secrets(held)[0], without_secrets(config)[0]
    if held == config:
        return
    if describe(held) != describe(config):
        raise UserError("%s holds %s; %s is %s: %s" % (state, describe(held), config_path,
                                                       describe(config), again))
    raise UserError("%s holds %s with another configuration than %s (%s differ): %s"
                    % (state, describe(held), config_path,
                       ", ".join(differences(held, config)), again))
