"""The secret fields of a meter configuration, for the host tools: a bundle leaves them
out, the simulator compares a state's configuration without them (the meter itself
blanks them once it holds them). The same paths as the firmware's ``app_config.SECRETS``
(``tests/test_bundle.py`` checks that they agree)."""
import copy

SECRETS = ("sts.key", "ir.passwords.reader", "ir.passwords.technician",
           "online.command_key", "online.broker_password")


def without_secrets(config):
    """(a copy of the parsed meter configuration with every secret field set to null, as
    the meter leaves its file; the dotted names of those that held a value)."""
    clean = copy.deepcopy(config)
    held = []
    for path in SECRETS:
        *parents, field = path.split(".")
        part = clean
        for name in parents:
            part = part.get(name) if isinstance(part, dict) else None
        if isinstance(part, dict) and field in part:
            if part[field] is not None:
                held.append(path)
            part[field] = None
    return clean, held
