"""The PKCS#11 custody (SoftHSM2) behind the vending server: the server process logs in to
the module (the PIN its alone), clerks sell through it, and the tokens decode with the
meter's key exactly as a local sale's do; concurrent clerks share the module's session
without mixing TIDs, and the keyed audit trail checks out with the module's MAC key."""
import threading

from host.vending import bootstrap, db, office, sales
from host.vending.client import Client
from host.vending.station import Station
from vendserver import VendServer
from vendworld import VK_DKGA04, Clock

CLERKS = 4
SALES_EACH = 10


def test_sales_through_the_server_with_pkcs11_custody_decode_with_the_meter_key(db_url, softhsm, monkeypatch,
                                                                               tmp_path):
    from tokens import keys, sts
    monkeypatch.setenv("PREPAY_PKCS11_PIN", "4321")
    engine = db.make_engine(db_url, create_dir=True)
    clock = Clock()
    assert bootstrap.init(engine, None, "UTC", clock(), module_uri=softhsm, approval_wait_s=0)["custody"] == "pkcs11"
    station = Station(engine, None, clock=clock)
    office.add_operator(station, None, "root", "admin", "root-password")
    root = office.login(station, "root", "root-password", "admin")
    sgc, krn = 201470 + (1 if "://" in db_url else 0), 1       # the token is shared by the whole session
    office.add_vending_key(station, root, sgc, krn, "04", VK_DKGA04)
    office.add_tariff(station, root, "home", {"blocks": [(None, 250000)], "vat_bp": 1600})
    office.add_customer(station, root, "A-001", "Jane Doe")
    pans = ["600727000000000009", "600727000000000017"]
    for pan in pans:
        office.add_meter(station, root, pan, "A-001", sgc, 1, krn, 2, "sta", 2014, "electricity", "home")
    for k in range(CLERKS):
        office.add_operator(station, root, "clerk%d" % k, "clerk", "clerk%d-password" % k)
    local = office.login(station, "clerk0", "clerk0-password")
    local_sale = sales.sell(station, local, pans[0], 1000, "cash")
    station.close()
    engine.dispose()

    server = VendServer(db_url, "not the PIN", tmp_path).start()      # the PIN: PREPAY_PKCS11_PIN
    sold, failures = [], []

    def clerk(k):
        try:
            with Client(server.url) as client:
                client.login("clerk%d" % k, "clerk%d-password" % k)
                for i in range(SALES_EACH):
                    sold.append(client.call("sell", meter=pans[(i + k) % 2], amount_cents=1000 + 100 * i,
                                            channel="cash"))
        except Exception as exc:             # reported below, with the clerk
            failures.append((k, exc))
    try:
        threads = [threading.Thread(target=clerk, args=(k,)) for k in range(CLERKS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        with Client(server.url) as client:
            client.login("root", "root-password")
            verified = client.call("audit_verify")
    finally:
        server.stop()
    assert failures == []
    assert len(sold) == CLERKS * SALES_EACH
    decoder = {pan: keys.dkga04(VK_DKGA04, pan, sgc, 1, krn, 2, 2014, "sta") for pan in pans}
    for receipt in sold + [local_sale]:
        decoded = sts.decode(receipt["tokens"][0]["digits"], decoder[receipt["meter"]], "sta")
        assert decoded.tid == receipt["tid"]
        assert decoded.value == receipt["units_credited_tenths"]
    assert len({(r["meter"], r["tid"]) for r in sold + [local_sale]}) == CLERKS * SALES_EACH + 1
    assert verified["problems"] == [] and verified["entries"] > CLERKS * SALES_EACH
