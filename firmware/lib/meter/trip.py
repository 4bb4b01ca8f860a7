"""Over-limit trip with retry and lockout, used for the load limit and the
phase-unbalance limit.

Above ``limit_w`` for ``hold_s`` -> trip (supply open); after ``reconnect_s`` the
supply closes again (retry); ``max_trips`` trips within ``window_s`` -> lockout until
``clear()``. A limit of 0 disables the check. State is a plain dict (persisted).
"""


def new_state():
    return {"over_since": None, "tripped_at": None, "trips": [], "lockout": False}


class Trip:
    def __init__(self, params, state):
        self.p = params
        self.s = state

    def update(self, now, value_w, limit_w=None):
        """Feed a reading; returns 'ok', 'tripped' or 'lockout' and a flag 'changed'."""
        s = self.s
        p = self.p
        limit = p["limit_w"] if limit_w is None else limit_w
        if s["lockout"]:
            return "lockout", False
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
            return "lockout", True
        s["tripped_at"] = now
        return "tripped", True

    def status(self, now):
        s = self.s
        if s["lockout"]:
            return "lockout"
        if s["tripped_at"] is not None and now - s["tripped_at"] < self.p["reconnect_s"]:
            return "tripped"
        return "ok"

    def clear(self):
        self.s["lockout"] = False
        self.s["tripped_at"] = None
        self.s["over_since"] = None
        self.s["trips"] = []
