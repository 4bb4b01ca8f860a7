"""Supply control: what the relay or valve should do, and why.

``target`` ranks the conditions (highest first) and returns the wanted state with its
reason; ``Supply.decide`` adds the reconnect rule: a valve meter configured for
``confirm`` (gas, heat) goes to READY instead of opening, and opens only after two
presses of the button within ``_CONFIRM_WINDOW_S``. Every change is returned so the core
can log it with its reason.

States: "on", "off", "ready" (closed, waiting for the customer), "limited" (on, but
under the low power limit because credit is exhausted).
"""
from const import const

_CONFIRM_WINDOW_S = const(30)


def new_state():
    return {"state": "on", "reason": "commissioned", "manual": None,
            "keep_until": None, "press_t": None, "confirmed": False,
            "battery_low": False, "tampers": [], "leak": None}


def target(s, cfg, credit_state, friendly, now, load_status, unbalance_status):
    """(wanted state, reason) before the reconnect rule."""
    sup = cfg["supply"]
    valve = sup["valve"]
    if s["manual"] == "off":
        return "off", "manual_off"
    tampers = s["tampers"]
    if tampers and sup["tamper"]["disconnect"]:
        return "off", "tamper_" + tampers[0]
    if s["battery_low"] and valve["close_on_low_battery"]:
        return "off", "low_battery"
    if "magnet" in tampers and valve["close_on_magnet"]:
        return "off", "magnet"
    if "tilt" in tampers and valve["close_on_tilt"]:
        return "off", "tilt"
    if s["leak"] and valve["close_on_leak"]:
        return "off", "leak"
    if load_status != "ok":
        return "off", "overload" if load_status == "tripped" else "overload_lockout"
    if unbalance_status != "ok":
        return "off", "unbalance" if unbalance_status == "tripped" else "unbalance_lockout"
    if s["manual"] == "on":
        return "on", "manual_on"
    if credit_state not in ("exhausted", "disconnected"):
        return "on", "credit"
    if s["keep_until"] is not None and now < s["keep_until"]:
        return "on", "keep_supply"
    if friendly:
        return "on", "friendly"
    if sup["low_power_limit_w"] > 0:
        return "limited", "credit_power_limit"
    return "off", "credit_exhausted"


def decide(s, cfg, want, reason):
    """Apply the reconnect rule; returns (state, reason, changed).

    A confirmation (``press``) is consumed by the next decision."""
    prev = s["state"]
    confirmed = s["confirmed"]
    s["confirmed"] = False
    if want != "off" and prev in ("off", "ready") and not confirmed \
            and reason != "manual_on" \
            and (prev == "ready" or cfg["supply"]["reconnect"] == "confirm"):
        want, reason = "ready", (s["reason"] if prev == "ready" else "await_confirm")
    if want == prev and reason == s["reason"]:
        return prev, reason, False
    s["state"] = want
    s["reason"] = reason
    return want, reason, True


def press(s, now):
    """A press of the customer button; True if it confirms a READY supply."""
    if s["state"] != "ready":
        return False
    if s["press_t"] is not None and 0 <= now - s["press_t"] <= _CONFIRM_WINDOW_S:
        s["press_t"] = None
        s["confirmed"] = True
        return True
    s["press_t"] = now
    return False
