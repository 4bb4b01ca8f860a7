"""The files `prepay sim` and `prepay provision` read (scripts, load profiles, stdin,
METER.json) and the values in a script (issue 11 items 7 and 9): UTF-8, UTF-8 with a BOM
and UTF-16 with a BOM are read; Latin-1, BOM-less UTF-16 and binary data are one line
naming the file and the byte offset, exit 2, nothing written; numbers and times go
through the one strict parser. CPython only (real processes)."""
import json
import os
import subprocess
import sys

import pytest

from host.provisioning import bundle
from host.sim.script import ScriptError, parse

ROOT = bundle.REPO_ROOT
EXAMPLE = os.path.join(ROOT, "boards", "sim", "examples", "electricity-unit.json")
BAD = [("caf\u00e9\n".encode("latin-1"), "not UTF-8 text at byte 3"),
       ("status\n".encode("utf-16-le"), "not text, a control character at byte 1"),
       (bytes(range(256)), "not text, a control character at byte 0"),
       (b"\x89PNG\r\n\x1a\n" + bytes(64), "not UTF-8 text at byte 0")]


def prepay(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "host.cli", *[str(a) for a in args]], cwd=ROOT,
                          input=stdin, capture_output=True, timeout=300)


def one_line(proc, said):
    err = proc.stderr.decode()
    assert proc.returncode == 2 and said in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_sim_reads_utf16_script_profile_and_config(tmp_path):
    """One run with every file in UTF-16 (a BOM, as Windows Notepad saves 'Unicode')."""
    (tmp_path / "day.csv").write_bytes("time,W  # caf\u00e9\n00:00,250\n07:00,1.5kW\n".encode("utf-16"))
    script = tmp_path / "story.txt"
    script.write_bytes("# d\u00e9j\u00e0 vu\nat 2026-11-23T06:00\nload profile day.csv\nadvance 2h\nstatus\n"
                       .encode("utf-16"))
    with open(EXAMPLE, encoding="utf-8") as f:
        config = json.load(f)
    (tmp_path / "METER.json").write_bytes(json.dumps(config, ensure_ascii=False).encode("utf-16"))
    proc = prepay("sim", "--state", tmp_path / "state", "--config", tmp_path / "METER.json", "--script", script,
                  "--no-heap-stats")
    assert proc.returncode == 0, proc.stderr.decode()
    status = json.loads(proc.stdout.decode().splitlines()[-1])
    assert status["time"].startswith("2026-11-23T08:00")
    with open(tmp_path / "state" / "world.json", encoding="utf-8") as f:
        assert json.load(f)["load"] == 1500000          # mW: the profile's 07:00 step was read


@pytest.mark.parametrize("data, said", BAD)
def test_sim_refuses_other_scripts_configs_and_stdin_in_one_line(tmp_path, data, said):
    bad = tmp_path / "bad"
    bad.write_bytes(data)
    state = tmp_path / "state"
    one_line(prepay("sim", "--state", state, "--config", EXAMPLE, "--script", bad), "%s: %s" % (bad, said))
    one_line(prepay("sim", "--state", state, "--config", EXAMPLE, "--script", "-", stdin=data),
             "standard input: " + said)
    script = tmp_path / "ok.txt"
    script.write_text("status\n")
    one_line(prepay("sim", "--state", state, "--config", bad, "--script", script), "%s: %s" % (bad, said))
    script.write_text("load profile bad\nstatus\n")
    one_line(prepay("sim", "--state", state, "--config", EXAMPLE, "--script", script),
             "line 1: %s: %s" % (bad, said))
    assert not state.exists()            # nothing written, not even the state directory


@pytest.mark.parametrize("line, said", [
    ("advance \u0669\u0660m", "0-9"), ("advance 1.5h", "whole number"), ("advance 90", "a duration is"),
    ("load 2,5kW", "comma"), ("load 1,500W", "comma"), ("load 1e3W", "unknown unit"), ("load -2kW", "negative"),
    ("load 0.0001W", "too many decimals"), ("flow \u0661\u0662\u0660L/h", "0-9"), ("load NaNkW", "like 1.5kW"),
    ("at \u0662\u0660\u0662\u0666-11-23T08:00", "0-9"), ("at 2026-11-31T08:00", "no such"),
    ("at 1999-12-31T23:00", "2000-2099"), ("battery \u0661\u0665%", "0-9"), ("battery 101%", "0..100"),
    ("battery 1.5%", "whole number"), ("button \u0662", "0-9"), ("button 0", "out of range"),
    ("token 1234 5678 9012 3456 789\u0660", "20 digits"), ("load schedule \u0660\u0667:00=1kW", "HH:MM"),
])
def test_script_values_go_through_the_strict_parser(line, said):
    with pytest.raises(ScriptError) as caught:
        parse("at 2026-11-23T08:00\n" + line + "\n")
    assert caught.value.line_no == 2 and said in str(caught.value), str(caught.value)


def test_script_value_errors_are_one_line_from_the_cli(tmp_path):
    proc = prepay("sim", "--state", tmp_path / "s", "--config", EXAMPLE, "--script", "-",
                  stdin="at 2026-11-23T08:00\nload 2,5kW\n".encode())
    assert proc.returncode == 2 and b"line 2" in proc.stderr and b"comma" in proc.stderr
    assert not (tmp_path / "s").exists()


def _esp32_config():
    with open(EXAMPLE, encoding="utf-8") as f:
        config = json.load(f)
    config["board"] = {"name": "esp32", "variant": "electricity"}
    return config


@pytest.mark.parametrize("data, said", BAD + [(b'{"a": NaN}', "NaN"), (b'{"sts": {}, "sts": {}}', "twice")])
def test_provision_refuses_a_config_that_is_not_text_or_strict_json(tmp_path, data, said):
    config = tmp_path / "METER.json"
    config.write_bytes(data)
    one_line(prepay("provision", "bundle", "--board", "esp32", "--config", config, "--out", tmp_path / "out"), said)
    assert not (tmp_path / "out").exists()


def test_provision_reads_a_utf16_config_and_ships_utf8(tmp_path):
    config = _esp32_config()
    path = tmp_path / "METER.json"
    path.write_bytes(json.dumps(config, indent=1).encode("utf-16"))
    report = bundle.build_bundle("esp32", str(path), str(tmp_path / "out"))
    with open(os.path.join(report["bundle_dir"], "meter.json"), "rb") as f:
        shipped = json.loads(f.read().decode("ascii"))
    assert shipped["identity"] == config["identity"] and shipped["board"] == config["board"]
    changed = dict(config, sts=dict(config["sts"], krn="x"))
    path.write_bytes(json.dumps(changed).encode("utf-16"))     # the firmware's own check still runs
    with pytest.raises(bundle.BundleError, match="sts.krn: must be an integer 1..9"):
        bundle.build_bundle("esp32", str(path), str(tmp_path / "out2"))


@pytest.mark.parametrize("data, said", BAD + [(b'{"kind": "flat", "kind": "tou"}', "twice")])
def test_read_refuses_table_and_list_files_in_one_line(tmp_path, data, said):
    bad = tmp_path / "bad"
    bad.write_bytes(data)
    one_line(prepay("read", "--port", tmp_path / "none", "set-tariff", "--table", bad, "--start", "2026-12-01T00:00"),
             said)
    if data.startswith(b"{"):
        return                            # text: a fine meter list, a bad tariff table
    one_line(prepay("read", "route", "--list", bad, "--out", tmp_path / "out.csv"), "%s: %s" % (bad, said))
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("args, said", [
    (("--timeout", "nan"), "not a number"), (("--timeout", "1e3"), "not a number"),
    (("--timeout", "\u0661"), "0-9"), (("--switch-delay", "0,5"), "comma"), (("events", "--count", "1_0"), "not a number"),
])
def test_read_values_are_parsed_strictly(tmp_path, args, said):
    one_line(prepay("read", "--port", tmp_path / "none", *args), said)


def test_read_times_are_strict():
    from host.parse import ParseError
    from host.readout import jobs
    assert jobs.stamp("2026-11-23T08:00") == "261123080000" and jobs.stamp("2026-11-23 08:00:07") == "261123080007"
    for bad in ("2026-11-23T08:00+03:00", "\u0662\u0660\u0662\u0666-11-23T08:00", "20261123T0800", "2026-11-23"):
        with pytest.raises(ParseError):
            jobs.stamp(bad)
