"""Over-limit trip with retry and lockout, used for the load limit and the
phase-unbalance limit.

Above ``limit_w`` for ``hold_s`` -> trip (supply open); after ``reconnect_s`` the
supply closes again (retry); ``max_trips`` trips within ``window_s`` -> lockout. A
lockout ends by ``clear()`` (the customer's button once the load is reduced, a new
limit by token, the technician) or by itself ``lockout_s`` after it began (0: never);
either way the trips are counted afresh. A limit of 0 disables the check. State is a
plain dict (persisted in the meter record, so a lockout and its timeout survive a cut).
"""


def new_state():
    return {"over_since": None, "tripped_at": None, "trips": [], "lockout": False,
            "locked_at": None}


class Trip:
    def __init__(self, params, state):
        self.p = params
        self.s = state

    def update(self, now, value_w, limit_w=None):
        """Feed a reading; returns 'ok', 'tripped' or 'lockout' and a flag 'changed'
        (a lockout that times out returns 'ok', True after clearing itself)."""
        s = self.s
        p = self.p
        limit = p["limit_w"] if limit_w is None else limit_w
        if s["lockout"]:
            if self.status(now) == "lockout":
                return "lockout", False
            self.clear()
            return "ok", True
        if s["tripped_at"] is not None:
            if now - s["tripped_at"] < p["reconnect_s"]:
                return "tripped", False
            s["tripped_at"] = None      # retry: close again, measure afresh
            s["over_since"] = None
            return "ok", True
        if value_w is None:             # no new reading: keep the hold timer as it is
            return "ok", False
        if limit <= 0 or value_w <= limit:
            s["over_since"] = None
            return "ok", False
        if s["over_since"] is None:
            s["over_since"] = now
        if now - s["over_since"] < p["hold_s"]:
            return "ok", False
        s["over_since"] = None
        trips = [x for x in s["trips"] if now - x < p["window_s"]]
        trips.append(now)
        s["trips"] = trips
        if len(trips) >= p["max_trips"]:
            s["lockout"] = True
            s["locked_at"] = now
            return "lockout", True
        s["tripped_at"] = now
        return "tripped", True

    def status(self, now):
        s = self.s
        if s["lockout"]:
            end = self.lockout_end()
            return "lockout" if end is None or now < end else "ok"
        if s["tripped_at"] is not None and now - s["tripped_at"] < self.p["reconnect_s"]:
            return "tripped"
        return "ok"

    def lockout_end(self):
        """When the lockout ends by itself; None when only clear() ends it (a record
        saved before lockouts had a start time has none either)."""
        start = self.s.get("locked_at")
        if start is None or not self.p["lockout_s"]:
            return None
        return start + self.p["lockout_s"]

    def next_change(self):
        """The time the status changes with no new reading (retry, lockout timeout, the
        end of the hold time of a reading over the limit), or None."""
        s = self.s
        if s["lockout"]:
            return self.lockout_end()
        if s["tripped_at"] is not None:
            return s["tripped_at"] + self.p["reconnect_s"]
        if s["over_since"] is not None:
            return s["over_since"] + self.p["hold_s"]
        return None

    def clear(self):
        s = self.s
        s["lockout"] = False
        s["locked_at"] = None
        s["tripped_at"] = None
        s["over_since"] = None
        s["trips"] = []
