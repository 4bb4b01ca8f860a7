"""The vending station as provisioning meets it, through either door: the vending server
with the technician's own login (``--server URL`` or PREPAY_SERVER), or the database
opened here on a single station. Two calls, the operations of
``host/vending/technician.py``: the meter's keys derived by the station's custody, and
the commissioning record. Errors are the station's one-line refusals."""
import os

from host.errors import UserError

RECORD_FIELDS = ("meter", "serial", "firmware_hash", "config_hash", "steps")


class Door:
    """``call(name, **params)`` runs a station operation as the technician."""

    def __init__(self, call, technician, where, close=None):
        self._call, self.technician, self.where, self._close = call, technician, where, close

    def call(self, name, **params):
        from pydantic import ValidationError
        from host.vending.errors import VendError
        try:
            return self._call(name, **params)
        except VendError as exc:
            raise UserError(str(exc))
        except ValidationError as exc:      # as the server says it: never the input back
            first = exc.errors()[0]
            raise UserError("invalid request: %s: %s" % (".".join(str(p) for p in first.get("loc", ())) or
                                                         "request", first.get("msg", "invalid")))

    def keys(self, pan, online):
        """``decoder_key`` (hex), with ``online`` ``command_key`` (hex) and
        ``broker_password``; ``meter`` (its vending record), ``floor_tid``, ``timezone``
        and ``sold_since_commissioning``."""
        return self.call("provision_keys", meter=pan, online=online)

    def record(self, report):
        sent = {k: report[k] for k in RECORD_FIELDS}
        sent["steps"] = [{k: s[k] for k in ("step", "result", "detail")} for s in report["steps"]]
        return self.call("meter_commission", **sent)["line"]

    def close(self):
        if self._close is not None:
            self._close()


def open_door(server, operator, password, db=None, cacert=None, passphrase=None):
    """Log the technician in at the server (``server`` a URL) or at the database ``db``
    (local mode: ``passphrase()`` unlocks the custody)."""
    from host.vending import operators
    from host.vending.errors import VendError
    if not operator:
        raise UserError("say who is acting: --operator NAME or PREPAY_OPERATOR")
    try:
        if server:
            from host.vending.client import Client
            if db:
                raise UserError("--db is for local mode: with --server the server holds the database")
            client = Client(server, cacert=cacert)
            try:
                answer = client.login(operator, password()).operator
                if not operators.role_at_least(answer["role"], "technician"):
                    raise UserError("operator %s is a %s; provisioning needs a technician"
                                    % (operator, answer["role"]))
            except BaseException:
                client.close()
                raise
            return Door(client.call, {"name": answer["operator"], "role": answer["role"]}, server,
                        lambda: _logout(client))
        from host.vending import api, office
        from host.vending.db import make_engine
        from host.vending.station import Station
        station = Station(make_engine(db), passphrase=passphrase)
        try:
            actor = office.login(station, operator, password(), "technician")
        except BaseException:
            station.engine.dispose()
            raise
        return Door(lambda name, **p: api.call(station, actor, name, p), actor,
                    station.engine.url.render_as_string(hide_password=True),
                    lambda: (station.close(), station.engine.dispose()))
    except VendError as exc:
        raise UserError(str(exc))


def _logout(client):
    try:
        client.logout()
    except Exception:  # noqa: BLE001 - the work is done; an expired session is no error
        pass
    client.close()


def server_url(given):
    return given or os.environ.get("PREPAY_SERVER") or None
