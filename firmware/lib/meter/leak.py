"""Water leak detection from hourly volumes.

A leak is flagged when no hour in the last 24 had zero flow (a dripping tap or a
running cistern never stops; after Waterwatch's rule), or when the flow stayed at a
low, non-zero rate (<= ``low_flow_lph``) for ``low_flow_hours`` hours in a row.
The core calls ``hour_closed`` once per clock hour with that hour's volume.

An alarm-only leak clears itself after an hour with no flow. A leak that closes the
valve is ``latched``: the closed valve makes every hour a zero-flow hour, which proves
nothing, so it stays until ``clear`` (the customer's button once the leak is fixed).
"""


def new_state():
    return {"hour_milli": 0, "flow_hours": 0, "low_hours": 0, "leak": None}


def hour_closed(state, params, volume_milli, latched=False):
    """Close one hour; returns the leak reason newly raised, "cleared", or None."""
    v = volume_milli
    state["hour_milli"] = 0
    if v == 0:
        state["flow_hours"] = 0
        state["low_hours"] = 0
        if latched or state["leak"] is None:
            return None
        state["leak"] = None
        return "cleared"
    state["flow_hours"] += 1
    # volume in litres per hour = milli-m3 in one hour
    if v <= params["low_flow_lph"]:
        state["low_hours"] += 1
    else:
        state["low_hours"] = 0
    reason = None
    if state["flow_hours"] >= 24:
        reason = "no_zero_flow_hour"
    elif state["low_hours"] >= params["low_flow_hours"]:
        reason = "continuous_low_flow"
    if reason and state["leak"] is None:
        state["leak"] = reason
        return reason
    return None


def clear(state):
    """The leak is fixed: no alarm, and the hours are counted afresh."""
    state["flow_hours"] = 0
    state["low_hours"] = 0
    state["leak"] = None
