"""Names shared by the supply switches (latching relay, motorised valve).

``state()`` answers in supply terms, so the meter core never needs to know whether a
relay closes or a valve opens to give supply:
``ON`` supply given (relay closed / valve opened), ``OFF`` supply cut, ``MOVING`` a coil
pulse or a motor run is under way, ``FAULT`` the valve did not reach its end position,
``UNKNOWN`` not commanded since boot (a latching relay has no feedback).
Commands return ``OK``, ``BUSY`` (still moving) or ``LOW_VOLTAGE`` (refused).
"""
ON = "on"
OFF = "off"
MOVING = "moving"
FAULT = "fault"
UNKNOWN = "unknown"

OK = "ok"
BUSY = "busy"
LOW_VOLTAGE = "low_voltage"


def voltage_ok(read_mv, min_mv):
    """May a switch move now? True without a voltage reading (the board cannot tell),
    else only when the reading is at least ``min_mv``."""
    if read_mv is None:
        return True
    mv = read_mv()
    return mv is not None and mv >= min_mv
