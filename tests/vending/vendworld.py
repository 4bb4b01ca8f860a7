"""A small vending world for tests and benchmarks: a station with operators, keys, a
tariff, customers and meters, and a clock the test moves by hand."""
import datetime

from host.vending import audit, bootstrap, db, operators, records
from host.vending.station import Station

PASSPHRASE = "test keystore passphrase"
VK_DKGA04 = bytes.fromhex("abababababababab949494949494949401234567")   # sts.md 9 example
VK_DKGA04_KRN2 = bytes.fromhex("0123456789abcdef0123456789abcdef01234567")
VK_DKGA02 = bytes.fromhex("abababababababab")                           # sts.md 9 example
PASSWORDS = {"root": "root-password", "alice": "alice-password", "bob": "bob-password",
             "sam": "sam-password", "sue": "sue-password"}
ROLES = {"root": "admin", "alice": "clerk", "bob": "clerk", "sam": "supervisor", "sue": "supervisor"}
START = datetime.datetime(2026, 5, 4, 9, 30)


def pan(n, iin="600727"):
    """A valid 18-digit PAN: IIN + 11-digit DRN + Luhn digit."""
    from tokens.pan import luhn_digit
    body = iin + "%011d" % n
    return body + luhn_digit(body)


class Clock:
    def __init__(self, now=START):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, **kwargs):
        self.now += datetime.timedelta(**kwargs)


class World:
    def __init__(self, url, meters=1, clock=None, timezone="UTC"):
        self.url = url
        self.engine = db.make_engine(url, create_dir=True)
        self.clock = clock or Clock()
        bootstrap.init(self.engine, PASSPHRASE, timezone, self.clock())
        self.station = Station(self.engine, PASSPHRASE, clock=self.clock)
        now = self.clock()
        with self.station.begin() as conn:
            for name, role in ROLES.items():
                operators.add(conn, name, role, PASSWORDS[name], now)
            ks = self.station.keystore(conn)
            records.add_vending_key(conn, ks, now, 201457, 1, "04", VK_DKGA04)
            records.add_vending_key(conn, ks, now, 201457, 2, "04", VK_DKGA04_KRN2)
            records.add_vending_key(conn, ks, now, 123456, 1, "02", VK_DKGA02)
            records.add_tariff(conn, now, "home", {"blocks": [(None, 250000)], "vat_bp": 1600})
            records.add_customer(conn, now, "A-001", "Jane Doe", phone="+254700000000")
            self.pans = []
            for i in range(meters):
                p = pan(i) if i else "600727000000000009"
                records.add_meter(conn, now, p, "A-001", 201457, 1, 1, 2, "sta", 2014, "electricity", "home")
                self.pans.append(p)
            audit.append(self.station, conn, now, "-", "test_world", "station", {}, rows=audit.watched_rows(conn))
        self.ops = {}
        with self.engine.connect() as conn:
            for name in ROLES:
                self.ops[name] = operators.authenticate(conn, name, PASSWORDS[name])

    def meter(self, p):
        with self.engine.connect() as conn:
            return dict(records.find_meter(conn, p))

    def decoder_key(self, p):
        """The meter's key derived here from the clear vending key, independently of the station."""
        from tokens import keys
        m = self.meter(p)
        vk = {(201457, 1): VK_DKGA04, (201457, 2): VK_DKGA04_KRN2, (123456, 1): VK_DKGA02}[(m["sgc"], m["krn"])]
        if m["dkga"] == "02":
            return keys.dkga02(vk, m["pan"], m["sgc"], m["ti"], m["krn"], m["kt"])
        return keys.dkga04(vk, m["pan"], m["sgc"], m["ti"], m["krn"], m["kt"], m["base_year"], m["algorithm"])

    def count(self, table):
        with self.engine.connect() as conn:
            return records.count_rows(conn, table)


def sell_worker(url, operator, pans, count, offset):
    """Run ``count`` sales round-robin over ``pans`` in this process (for concurrency tests
    and benchmarks); returns [(pan, tid, receipt), ...]."""
    from host.vending import sales
    engine = db.make_engine(url)
    station = Station(engine, PASSPHRASE)
    done = []
    try:
        for i in range(count):
            p = pans[(i + offset) % len(pans)]
            r = sales.sell(station, operator, p, 1000 + i % 7 * 100, "cash")
            done.append((p, r["tid"], r["receipt"]))
    finally:
        engine.dispose()
    return done


def add_clerks(world, count):
    """``count`` more clerks (clerk1, clerk2, ...): one session each on a server."""
    from host.vending import office
    names = ["clerk%d" % (k + 1) for k in range(count)]
    for name in names:
        office.add_operator(world.station, world.ops["root"], name, "clerk", name + "-password")
    return names


def server_sell_worker(server_url, operator, pans, count, offset):
    """``sell_worker`` through the vending server, logged in as ``operator`` (password
    ``<operator>-password``)."""
    from host.vending.client import Client
    done = []
    with Client(server_url) as client:
        client.login(operator, operator + "-password")
        for i in range(count):
            p = pans[(i + offset) % len(pans)]
            r = client.call("sell", meter=p, amount_cents=1000 + i % 7 * 100, channel="cash")
            done.append((p, r["tid"], r["receipt"]))
    return done
