"""``prepay provision meter``: a board running MicroPython, blank or half-done, to a
commissioned meter, through its console and its optical port. Each step says its name
as it goes (``progress``); a failure is one line naming the step (``StepFailed``), and a
re-run takes the job up again: files the meter holds already are not sent twice, every
file is written beside and renamed over, and ``main.py`` comes last, so a board whose
install was cut boots into the REPL (no supply decisions) rather than half a firmware.

The decoder key (and, for an online meter, the command key and broker password) is
derived for this meter's PAN by the vending station's key custody, through the vending
server with the technician's own login or locally (``host/provisioning/vending.py``),
and goes from memory into the console's raw REPL, inside the ``meter.json`` written on
the meter's flash, which the first boot imports into the key partition and blanks
(``firmware/lib/app_keys.py``): never printed, logged, or written on the host. The
self-test checks that every secret left the file.
"""
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

from host import textfile
from host.errors import UserError
from host.provisioning.console import Console, ConsoleError
from host.provisioning.identity import ON_METER, config_hash, firmware_hash
from tokens import build, meter_tests

ESP32_APP_OFFSET = "0x1000"         # MicroPython's firmware.bin on an ESP32
TEST_CONTROL = meter_tests.control_of(("load_switch", "display", "krn", "sgc"))
OUTPUT_STATE = "0-0:96.3.10"        # docs/obis.md: 1 connected, 0 disconnected
SWITCH_WATCH_S = 15                 # display test, then the load switch's 5 s open


class StepFailed(UserError):
    def __init__(self, step, why):
        UserError.__init__(self, "step %s: %s" % (step, why))


class Provisioning:
    """One run; ``done`` collects each step's result for the summary and the record."""

    def __init__(self, port, ir_port, config, pan, board, progress, boot_timeout_s, ir_timeout_s=5):
        self.port, self.ir_port, self.pan, self.board = port, ir_port, pan, board
        self.ir_timeout_s = ir_timeout_s
        self.config = config
        self.progress = progress
        self.boot_timeout_s = boot_timeout_s
        self.steps = []
        self.step = None

    def begin(self, step):
        self.step = step
        self.started = time.monotonic()

    def done(self, result, detail):
        self.steps.append({"step": self.step, "result": result, "detail": detail,
                           "seconds": round(time.monotonic() - self.started, 1)})
        self.progress("%-13s %s%s" % (self.step, "" if result == "ok" else result + ": ",
                                      detail), False)

    def fail(self, why):
        raise StepFailed(self.step, why)


def provision(port, config_path, pan, open_door, ir_port=None, board="sim",
              firmware_image=None, erase=False, progress=None, boot_timeout_s=120,
              ir_timeout_s=5):
    """Provision the meter on ``port``; the report (steps, identity, hashes, bytes).
    ``open_door()``: the vending station (``host.provisioning.vending.Door``), opened at
    the step that needs it; it gives the keys and takes the commissioning record once
    the self-test has passed. ``progress(line, transient)``: each step's line as it
    ends, and transient lines (a file being installed) a display may overwrite."""
    progress = progress or (lambda line, transient: None)
    config = textfile.read_json(config_path, "meter configuration")
    if not isinstance(config, dict):
        raise UserError("%s: the meter configuration is a JSON object" % config_path)
    config.setdefault("identity", {})["pan"] = pan
    run = Provisioning(port, ir_port, config, pan, board, progress, boot_timeout_s, ir_timeout_s)
    started = time.monotonic()
    console = door = None
    try:
        run.begin("firmware")
        flash_firmware(run, firmware_image, erase)
        run.begin("console")
        console = Console(port)
        console.raw(soft_reset=True)
        held = json.loads(console.run(ON_METER).strip().splitlines()[-1])
        if held["pan"] not in (None, pan):
            run.fail("the meter is commissioned as %s; refusing to give it %s"
                     % (held["pan"], pan))
        run.done("ok", "%s: MicroPython in the raw REPL, %s" % (
            port, "meter %s found" % held["pan"] if held["pan"] else "no meter installed"))
        run.begin("vending")
        door = open_door()
        online = isinstance(config.get("online"), dict)
        issued = door.keys(pan, online)
        meter = issued["meter"]
        check_identity(config, meter)
        run.done("ok", "meter %s, %s derived by the key custody at %s for %s"
                 % (pan, "decoder key SGC %06d KRN %d" % (meter["sgc"], meter["krn"])
                    + (", command key, broker password" if online else ""),
                    door.where, door.technician["name"]))
        run.begin("bundle")
        files = bundle_files(board)
        run.done("ok", "%d files compiled for board %s" % (len(files), board))
        run.begin("install")
        sent = console.install(files, lambda n, total, path: progress(
            "install       %d/%d %s" % (n, total, path), True))
        run.done("ok", "%d of %d bundle files sent (%s held already)"
                 % (sent, len(files), len(files) - sent))
        run.begin("configuration")
        config["sts"]["floor_tid"] = issued["floor_tid"]
        text = with_secrets(config, issued)
        del issued["decoder_key"]
        issued.pop("command_key", None), issued.pop("broker_password", None)
        console.write_file("meter.json", text)
        del text
        run.done("ok", "meter.json written with the %s; %s"
                 % ("decoder key, command key and broker password" if online else "decoder key",
                    tid_memory(held, issued)))
        boot(run, console)
        run.begin("identity")
        console.raw()           # Ctrl-C: the meter's loop stops into the REPL
        said = json.loads(console.run(ON_METER).strip().splitlines()[-1])
        expected = firmware_hash(files)
        if said["pan"] != pan or said["secrets_in_file"]:
            run.fail("the meter did not take its configuration and secrets (PAN %s, %s in "
                     "meter.json)" % (said["pan"], ", ".join(said["secrets_in_file"]) or "none left"))
        if said["firmware_hash"] != expected:
            run.fail("the firmware on the meter (%s) is not the bundle's (%s)"
                     % (said["firmware_hash"][:12], expected[:12]))
        run.done("ok", "PAN %s serial %s firmware %s, secrets out of meter.json"
                 % (pan, said["serial"], expected[:12]))
        boot(run, console, "restart")
        optical_tests(run, issued["timezone"])
        report = {"meter": pan, "serial": said["serial"], "port": port, "ir_port": ir_port,
                  "board": board, "firmware_hash": expected, "config_hash": config_hash(config),
                  "files": len(files), "files_sent": sent, "console_bytes": console.sent,
                  "technician": door.technician["name"], "station": door.where,
                  "old_tokens": [] if held["tid_memory"] else issued["sold_since_commissioning"],
                  "steps": run.steps}
        run.begin("record")
        run.done("ok", door.record(report))
    except (ConsoleError, UserError) as exc:
        if isinstance(exc, StepFailed):
            raise
        raise StepFailed(run.step, str(exc))
    finally:
        if console is not None:
            console.close()
        if door is not None:
            door.close()
    report["seconds"] = round(time.monotonic() - started, 1)
    return report


def with_secrets(config, issued):
    """meter.json's text with the issued secrets in it (bytes; the dict keeps none)."""
    config["sts"]["key"] = issued["decoder_key"]
    if "command_key" in issued:
        config["online"]["command_key"] = issued["command_key"]
        config["online"]["broker_password"] = issued["broker_password"]
    try:
        return json.dumps(config).encode()
    finally:
        config["sts"]["key"] = None
        if "command_key" in issued:
            config["online"]["command_key"] = config["online"]["broker_password"] = None


def tid_memory(held, issued):
    """What the meter's TID memory will be after this provisioning (docs/meter-security.md):
    a meter that keeps its records keeps its own, so tokens sold before stay good and used
    ones stay Used; a new one starts at the station's floor, so tokens sold earlier are
    Old on it, which the report lists for the utility to credit."""
    if held["tid_memory"]:
        return "the meter keeps its TID memory (tokens sold before stay good, used ones Used)"
    old = issued["sold_since_commissioning"]
    line = "new TID memory from TID %d" % issued["floor_tid"]
    if old:
        line += ("; %d token(s) sold since the last commissioning are Old on it (receipts %s): "
                 "credit them by adjustment" % (len(old), ", ".join(
                     str(t["sale_id"]) for t in old if t["sale_id"] is not None) or "none"))
    return line


def flash_firmware(run, image, erase):
    """``--firmware-image`` on an ESP32: esptool finds the chip, erases where asked,
    writes MicroPython at 0x1000 and verifies what it wrote."""
    if image is None:
        run.done("skipped", "no --firmware-image: the board runs MicroPython already")
        return
    if run.board == "sim":
        run.done("skipped", "a simulated board runs the MicroPython Unix port; "
                 "--firmware-image is for an ESP32")
        return
    if not os.path.isfile(image):
        run.fail("no firmware image %s" % image)
    done = subprocess.run(flash_command(run.port, image, erase), capture_output=True, text=True)
    if done.returncode:
        run.fail("esptool: " + esptool_error(done))
    chip = [x for x in done.stdout.splitlines() if x.startswith(("Chip is", "Chip type"))]
    run.done("ok", "%s written and verified by esptool (%s)"
             % (os.path.basename(image), chip[0] if chip else "chip detected"))
    time.sleep(2)               # the board resets into MicroPython


def flash_command(port, image, erase):
    """esptool's command line: the chip detected, the whole flash erased first when
    asked, MicroPython written at 0x1000 and verified (esptool checks each write's MD5)."""
    command = [sys.executable, "-m", "esptool", "--port", port, "--chip", "auto", "write-flash"]
    command += ["--erase-all"] if erase else []
    return command + [ESP32_APP_OFFSET, image]


def esptool_error(done):
    """esptool's own reason in one line (its last line is a link to troubleshooting)."""
    lines = [x.strip() for x in (done.stderr + "\n" + done.stdout).splitlines() if x.strip()]
    for line in lines:
        if line.startswith(("ERROR:", "A fatal error occurred:")):
            for prefix in ("ERROR:", " A fatal error occurred:", "A fatal error occurred:"):
                line = line[len(prefix):] if line.startswith(prefix) else line
            return line.strip()
    return lines[-1] if lines else "exit %d" % done.returncode


def boot(run, console, step="boot"):
    run.begin(step)
    state, said = console.boot(run.boot_timeout_s)
    if state == "refused":
        run.fail("the meter refuses its configuration: " + said)
    if state == "stopped":
        lines = [x for x in said.strip().splitlines() if x.strip() and x.strip() != ">>>"]
        run.fail("main.py stopped: " + (lines[-1] if lines else "no output"))
    if state == "silent":
        run.fail("the meter did not say it runs within %d s" % run.boot_timeout_s)
    run.done("ok", "main.py running")


def optical_tests(run, timezone):
    """Readout, clock, a test token and the relay, over the optical port with the
    technician's password (IEC 62056-21, ``host/readout``)."""
    from host.readout import jobs
    names = ("readout", "clock", "test-token", "relay")
    password = ((run.config.get("ir") or {}).get("passwords") or {}).get("technician")
    why = None if run.ir_port else "no optical head: give --ir-port"
    why = why or (None if password else "the configuration has no ir.passwords."
                  "technician: its optical port stays closed")
    if why:
        for name in names:
            run.begin(name)
            run.done("skipped", why)
        return
    opts = {"timeout": run.ir_timeout_s}
    run.begin("readout")
    values = {r["obis"]: r["value"] for r in jobs.readout(run.ir_port, **opts)}
    serial = (run.config.get("identity") or {}).get("serial")
    if values.get("0-0:96.1.1") != run.pan or values.get("0-0:96.1.0") != serial:
        run.fail("the optical port reads meter %s serial %s"
                 % (values.get("0-0:96.1.1"), values.get("0-0:96.1.0")))
    run.done("ok", "%d registers, firmware %s" % (len(values), values.get("0-0:0.2.0")))
    run.begin("clock")
    import zoneinfo
    now = datetime.datetime.now(zoneinfo.ZoneInfo(timezone)).replace(microsecond=0, tzinfo=None)
    held = jobs.set_clock(run.ir_port, password, now.isoformat(), **opts)
    run.done("ok", "set to %s (the station's time zone), the meter holds %s"
             % (now.isoformat(sep=" "), held))
    run.begin("test-token")
    token = build.test_token(TEST_CONTROL).digits
    accepted, result = jobs.send_token(run.ir_port, password, token, **opts)
    if not accepted:
        run.fail("the meter answered %s to the test token %s" % (result, token))
    run.done("ok", "%s over W1 0-0:19.40.0: %s (display, load switch, KRN, SGC)"
             % (token, result))
    run.begin("relay")
    seen = watch_output(run.ir_port, password, run.ir_timeout_s)
    if seen[0] == "0" and "1" not in seen:
        run.done("held off", "the supply is off (no credit yet): the load switch test "
                 "never connects it")
    elif "0" in seen and seen[-1] == "1":
        run.done("ok", "opened and closed again by the load switch test")
    else:
        run.fail("the relay did not open for the load switch test (%s)" % "".join(seen))


def watch_output(port, password, timeout_s):
    """The relay's positions, read over IR until the load switch test is over."""
    from host.readout import jobs
    seen = []
    end = time.monotonic() + SWITCH_WATCH_S
    while time.monotonic() < end:
        value = jobs.read_codes(port, [OUTPUT_STATE], password, timeout=timeout_s)[0]["value"]
        if not seen or seen[-1] != value:
            seen.append(value)
        if len(seen) >= 3 or (seen == ["0"] and time.monotonic() > end - 5):
            break
        time.sleep(0.5)
    return seen


def check_identity(config, meter):
    """The configuration's key identity must be the vending record's."""
    sts = config.get("sts")
    if not isinstance(sts, dict):
        raise UserError("the configuration has no sts section")
    pairs = (("sgc", "sgc"), ("krn", "krn"), ("kt", "kt"), ("ti", "ti"),
             ("algorithm", "algorithm"), ("base_date", "base_year"))
    wrong = ["sts." + name for name, col in pairs if sts.get(name) != meter[col]]
    wrong += [name for name in ("utility", "credit_mode")
              if config.get(name, "unit" if name == "credit_mode" else None) != meter[name]]
    if wrong:
        raise UserError("the configuration's %s differ from the vending record of meter %s "
                        "(the station would sell it tokens it refuses)"
                        % (", ".join(wrong), meter["pan"]))


def bundle_files(board):
    """The bundle's files (dest -> bytes) without meter.json, built for ``board``."""
    from host.provisioning.bundle import build_bundle
    with tempfile.TemporaryDirectory() as out:
        report = build_bundle(board, None, out)
        root = report["bundle_dir"]
        files = {}
        for dirpath, _, names in os.walk(root):
            for name in names:
                path = os.path.join(dirpath, name)
                dest = os.path.relpath(path, root).replace(os.sep, "/")
                if dest != "meter.json":
                    with open(path, "rb") as f:
                        files[dest] = f.read()
    return files


def summary(report):
    lines = ["%-13s %-8s %s" % (s["step"], s["result"], s["detail"]) for s in report["steps"]]
    lines.append("meter %(meter)s commissioned on %(port)s in %(seconds)s s: %(files_sent)d "
                 "files sent, %(console_bytes)d bytes over the console" % report)
    if report["old_tokens"]:
        lines.append("%d token(s) sold before are Old on this meter (new TID memory): receipts %s; "
                     "credit the customer by adjustment" % (len(report["old_tokens"]), ", ".join(
                         str(t["sale_id"]) for t in report["old_tokens"])))
    return "\n".join(lines)
