"""The secret fields of a meter configuration, for the host tools: a bundle leaves them
out, the simulator compares a state's configuration without them (the meter itself
blanks them once it holds them). The same list as the firmware's ``app_config.SECRETS``
(``tests/test_bundle.py`` checks that they agree)."""
import copy

SECRETS = (("sts", "key"),)     # (section, field)


def without_secrets(config):
    """(a copy of the parsed meter configuration without its secret fields, the dotted
    names of those that held a value)."""
    clean = copy.deepcopy(config)
    held = []
    for section, field in SECRETS:
        part = clean.get(section) if isinstance(clean, dict) else None
        if isinstance(part, dict) and field in part:
            if part.pop(field) is not None:
                held.append(section + "." + field)
    return clean, held
