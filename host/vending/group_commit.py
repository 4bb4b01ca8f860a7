"""Group commit: the vending server's sales that arrive together commit together.

Eight clerks selling at once through one server would otherwise queue one by one for the
same locks (SQLite's write lock; on PostgreSQL the customer's and the audit head's rows)
and each wait for its own flush to disk. Here the first request to find no group being
written becomes the leader: it takes every order waiting (its own among them, at most
``most``), runs them in one transaction with ``sales.sell_together`` and hands each
waiting request its outcome; requests that arrived meanwhile form the next group, led by
one of them. A lone clerk's sale is simply run by its own request, as before.

Each request still sees its own sale whole or not at all, and gets its receipt only once
the group's commit has returned.
"""
import threading


class _Slot:
    __slots__ = ("order", "outcome", "done")

    def __init__(self, order):
        self.order, self.outcome, self.done = order, None, False


class GroupCommit:
    def __init__(self, station, most=32):
        self.station, self.most = station, most
        self._waiting = []
        self._writing = False
        self._changed = threading.Condition()
        self.groups = self.sales = 0          # for the benchmark: sales per commit

    def sell(self, order):
        """The receipt of ``order`` (``(operator, pan, amount_cents, channel, reference)``),
        or the exception it raised, raised here."""
        from host.vending.sales import sell_together
        slot = _Slot(order)
        with self._changed:
            self._waiting.append(slot)
            while not slot.done:
                if self._writing:
                    self._changed.wait()
                    continue
                group, self._waiting = self._waiting[:self.most], self._waiting[self.most:]
                self._writing = True
                self._changed.release()
                try:
                    outcomes = sell_together(self.station, [s.order for s in group])
                except BaseException as exc:       # never leave the others waiting
                    outcomes = [exc] * len(group)
                finally:
                    self._changed.acquire()
                for s, outcome in zip(group, outcomes):
                    s.outcome, s.done = outcome, True
                self.groups, self.sales = self.groups + 1, self.sales + len(group)
                self._writing = False
                self._changed.notify_all()
        if isinstance(slot.outcome, BaseException):
            raise slot.outcome
        return slot.outcome
