"""The optical port on the real meter application, in both runtimes: the readout's
lines, R1 of registers, settings and logs, W1 of settings through the configuration's
checks, the token carrier (the keypad's path), password levels and the lockout that
survives a power cut, events with the operator's level, and no secret in any answer."""
DUAL_RUNTIME = True
MICROPYTHON_HEAPSIZE = "800K"   # several power-ons of the app, loaded as .mpy files into the heap

from dualrt import tmp_dir
from iec62056.frame import data_frame
from optical_kit import KEY, READER, T0, TECHNICIAN, Bench, config
from tokens import build
from tokens.tid import tid_at

ACK = b"\x06"
NAK = b"\x15"


def token(amount_e5, minute=0):
    """(digits, credit micro it carries)."""
    t = build.currency_token(bytes.fromhex(KEY), "sta", "electricity",
                             tid_at(2014, 2026, 11, 23, 7, minute), amount_e5)
    return t.digits, t.value * 10


def lines(answer):
    """The data sets of a readout or an R1 answer."""
    assert answer[:1] == b"\x02" and answer[-2:-1] == b"\x03", answer
    return [x for x in answer[1:-2].decode().split("\r\n") if x and x != "!"]


def read(bench, code, arg=""):
    return lines(bench.command(b"R1", "%s(%s)" % (code, arg)))


def test_readout_holds_the_documented_registers():
    bench = Bench(tmp_dir("optical-readout"))
    ident, data = bench.sign_on(b"0")
    assert ident == b"/PPm5PREPAY\r\n"
    got = {x[:x.index("(")]: x[x.index("(") + 1:-1] for x in lines(data)}
    assert got["0-0:96.1.0"] == "SIM-E-0001" and got["0-0:96.1.1"] == "600727000000000017"
    assert got["0-0:1.0.0"].startswith("2611230800")
    assert got["1-0:1.8.0"] == "0.000*kWh" and got["1-0:1.8.1"] == "0.000*kWh"
    assert got["0-0:128.14.0"] == "25.0000*KES" and got["0-0:96.14.0"] == "0001"
    assert got["0-0:19.0.0"] == "0.00*KES" and got["0-0:19.20.0"] == "1.00*KES"
    assert got["0-0:96.3.10"] == "0" and got["0-0:128.3.10"] == "2"   # no credit: off
    assert got["0-0:128.10.1"] == "1" and got["0-0:128.97.0"] == "00000008"
    assert got["0-0:17.0.0"] == "0.000*kW" and "1-0:32.7.0" not in got   # no chip here
    assert "0-0:128.40.0" not in got                                       # no token yet
    assert bench.board.ir_port.bauds == [9600, 300]


def test_water_meter_codes_come_from_its_medium():
    cfg = config(utility="water", credit_mode="unit", ml_per_pulse=1000, tariff={})
    bench = Bench(tmp_dir("optical-water"), cfg)
    codes = [x[:x.index("(")] for x in lines(bench.sign_on(b"0")[1])]
    assert "8-0:1.0.0" in codes and "8-0:2.0.0" in codes and "1-0:1.8.0" not in codes


def test_token_written_over_the_port_credits_once():
    directory = tmp_dir("optical-token")
    bench = Bench(directory)
    assert bench.program(TECHNICIAN) == ACK
    digits, micro = token(2000000)                    # 20.00 KES
    assert bench.command(b"W1", "0-0:19.40.0(%s)" % digits) == ACK
    assert bench.app.meter.balance_micro() == micro
    assert read(bench, "0-0:128.40.0") == ["0-0:128.40.0(1)"]
    assert bench.command(b"W1", "0-0:19.40.0(%s)" % digits) == NAK
    assert read(bench, "0-0:128.40.0") == ["0-0:128.40.0(10)"]       # Used
    assert bench.app.meter.balance_micro() == micro
    history = read(bench, "0-0:99.15.0")
    assert history[0].startswith("0-0:99.15.0(261123") and ";Used;" in history[0]
    assert ";Accept;0;4;%d)" % (micro // 10) in history[1]
    bench.command(b"B0")
    events = [e for e in bench.app.meter.events.items if e[2] == "optical"]
    assert [e[3] for e in events] == ["session", "write_token", "write_token", "end_break"]
    assert all(e[4] == 2 for e in events)
    again = Bench(directory)                           # a power cut: it was saved
    assert again.app.meter.balance_micro() == micro
    assert [e[3] for e in again.app.meter.events.items if e[2] == "optical"][-1] == "end_break"


def test_reader_reads_technician_writes():
    bench = Bench(tmp_dir("optical-levels"))
    assert bench.program(READER) == ACK
    assert read(bench, "1-0:1.8.0") == ["1-0:1.8.0(0.000*kWh)"]
    assert bench.command(b"W1", "0-0:1.0.0(261124090000)") == data_frame(b"(NO ACCESS)")
    assert bench.app.now() // 3600 == T0 // 3600


def test_settings_are_written_with_the_configurations_checks():
    directory = tmp_dir("optical-settings")
    bench = Bench(directory)
    bench.program(TECHNICIAN)
    w = bench.command
    assert w(b"W1", "0-0:1.0.0(261124093000)") == ACK
    assert bench.app.now() == T0 + 86400 + 5400 or bench.app.now() - (T0 + 91800) < 5
    assert w(b"W1", "0-0:17.0.0(7.5*kW)") == ACK
    assert w(b"W1", "0-0:128.10.2(12.50*KES)") == ACK
    assert w(b"W1", '0-0:128.30.1({"micro": 30000000})') == ACK
    assert w(b"W1", '0-0:128.31.0({"week": [[], [], [], [], [], [[0, 1440]], []]})') == ACK
    assert w(b"W1", "0-0:128.31.1([[1, 1], [12, 25]])") == ACK
    assert w(b"W1", '0-0:128.20.1(261201000000;{"kind": "flat", "prices": [30000000]})') == ACK
    cfg = bench.app.meter.cfg
    assert cfg["supply"]["load_limit"]["limit_w"] == 7500
    assert cfg["credit"]["emergency"]["amount_micro"] == 12500000
    assert cfg["credit"]["alarms"]["low1"]["micro"] == 30000000
    assert cfg["holidays"] == [[1, 1], [12, 25]]
    assert cfg["tariff"]["pending"]["prices"] == [30000000]
    assert read(bench, "0-0:128.20.1")[0].startswith("0-0:128.20.1(261201000000;{")
    assert read(bench, "0-0:17.0.0") == ["0-0:17.0.0(7.500*kW)"]
    writes = bench.app.store.writes
    refused = (
        ('0-0:128.30.1({"micro": 1, "percent": 101})', b"credit.alarms.low1.percent"),
        ("0-0:128.31.1([[13, 1]])", b"holidays[0]"),
        ('0-0:128.20.1(261201000000;{"kind": "flat", "prices": []})', b"tariff.pending"),
        ("0-0:128.10.2(1.2345678*KES)", b"FORMAT"),
        ("0-0:128.10.2(1.23*EUR)", b"UNIT"),
        ("0-0:1.0.0(260230000000)", b"RANGE"),
        ("0-0:128.31.0({not json)", b"FORMAT"),
        ("0-0:128.20.0({})", b"READ ONLY"),
        ("9-9:9.9.9(1)", b"UNKNOWN REGISTER"),
    )
    for data_set, why in refused:
        answer = w(b"W1", data_set)
        assert answer[:2] == b"\x02(" and why in answer, (data_set, answer)
    assert bench.app.store.writes == writes                  # nothing written on error
    assert bench.app.meter.cfg["holidays"] == [[1, 1], [12, 25]]
    again = Bench(directory, ms=bench.board.clock.ms)        # and what was written stays
    assert again.app.meter.cfg["supply"]["load_limit"]["limit_w"] == 7500
    assert again.app.meter.cfg["tariff"]["pending"]["prices"] == [30000000]


def test_wrong_passwords_lock_programming_across_a_power_cut():
    directory = tmp_dir("optical-lock")
    bench = Bench(directory)
    bench.sign_on()
    p1 = b"P1"
    assert bench.command(p1, "(guess1)") == NAK
    assert bench.command(p1, "(guess2)") == NAK
    assert bench.command(p1, "(guess3)") == NAK
    assert bench.command(p1, "(%s)" % TECHNICIAN).startswith(b"\x02(LOCKED 29")
    again = Bench(directory, ms=bench.board.clock.ms + 60000)      # power cut, 1 min
    assert again.program(TECHNICIAN).startswith(b"\x02(LOCKED 23")
    later = Bench(directory, ms=again.board.clock.ms + 240000)
    assert later.program(TECHNICIAN) == ACK                       # and then it opens
    details = [e[3] for e in later.app.meter.events.items if e[2] == "optical"]
    assert details[:4] == ["password_wrong", "password_wrong", "password_wrong", "locked"]


def test_event_log_is_read_newest_first():
    bench = Bench(tmp_dir("optical-events"))
    bench.program(TECHNICIAN)
    last_two = read(bench, "0-0:99.98.0", "2")
    assert len(last_two) == 2 and last_two[0].startswith("0-0:99.98.0(")
    assert ";optical;session;2)" in last_two[0]
    assert len(read(bench, "0-0:99.98.0")) == bench.app.meter.events.count


def test_no_secret_in_any_answer():
    bench = Bench(tmp_dir("optical-secrets"))
    seen = bench.sign_on(b"0")[1]
    bench.program(READER)
    from obis import registers, settings
    codes = [c for c, _ in registers.rows(bench.app)] + [s[0] for s in settings.SETTINGS]
    for code in codes + ["0-0:99.98.0", "0-0:99.15.0", "0-0:19.40.0", "0-0:128.20.1",
                         "0-0:96.99.99", "1-0:0.0.0"]:
        seen += bench.command(b"R1", code + "()")
    bench.command(b"B0")
    bench.sign_on()
    seen += bench.command(b"P1", "(%s)" % TECHNICIAN)
    seen += bench.command(b"W1", "0-0:1.0.0(%s)" % TECHNICIAN)
    seen += bench.command(b"W1", "0-0:19.40.0(%s)" % READER)
    text = seen.decode().lower()
    for secret in (KEY, READER, TECHNICIAN):
        assert secret not in text
    status = repr(bench.app.status(bench.app.now())).lower()
    assert READER not in status and TECHNICIAN not in status and KEY not in status


def test_a_closed_port_refuses_every_password():
    cfg = config()
    del cfg["ir"]["passwords"]
    bench = Bench(tmp_dir("optical-closed"), cfg)
    assert bench.program(TECHNICIAN) == NAK


def test_technician_changes_the_passwords_and_they_survive_a_power_cut():
    directory = tmp_dir("optical-passwords")
    bench = Bench(directory)
    assert bench.program(READER) == ACK
    assert bench.command(b"W1", "0-0:128.50.1(rd-0042)") == data_frame(b"(NO ACCESS)")
    bench.command(b"B0")
    assert bench.program(TECHNICIAN) == ACK
    seen = b""
    for data_set, why in (("0-0:128.50.1(abc)", b"RANGE"), ("0-0:128.50.1(%s)" % ("x" * 17), b"RANGE"),
                          ("0-0:128.50.1(a?bcd)", b"RANGE"), ("0-0:128.50.1(a bcd)", b"RANGE"),
                          ("0-0:128.50.1(%s)" % TECHNICIAN, b"must differ")):
        answer = bench.command(b"W1", data_set)
        assert answer[:2] == b"\x02(" and why in answer, (data_set, answer)
        seen += answer
    assert bench.command(b"W1", "0-0:128.50.1(rd-0042)") == ACK
    assert bench.command(b"W1", "0-0:128.50.2(tech-0042)") == ACK
    for code in ("0-0:128.50.1", "0-0:128.50.2"):
        answer = bench.command(b"R1", code + "()")
        assert answer == data_frame(b"(WRITE ONLY)")
        seen += answer
    seen += bench.command(b"R1", "0-0:99.98.0()")
    bench.command(b"B0")
    assert bench.program(TECHNICIAN) == NAK and bench.program(READER) == NAK
    cfg = config()                      # after the first boot meter.json holds no passwords
    cfg["ir"]["passwords"] = {"reader": None, "technician": None}
    again = Bench(directory, cfg, ms=bench.board.clock.ms + 1000)       # power cut
    assert again.program("rd-0042") == ACK
    again.command(b"B0")
    assert again.program("tech-0042") == ACK
    changes = [(e[3], e[4]) for e in again.app.meter.events.items if e[3].startswith("write_p")]
    assert changes == [("write_password_reader", 2), ("write_password_technician", 2)]
    assert b"rd-0042" not in seen and b"tech-0042" not in seen
    import os
    for name in os.listdir(directory):          # only the key partition holds them
        if name != "meter.json":
            with open(directory + "/" + name, "rb") as f:
                data = f.read()
            assert b"rd-0042" not in data and b"tech-0042" not in data, name
