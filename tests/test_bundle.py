"""The firmware bundle build (CPython): every firmware file compiles with mpy-cross, the
bundle holds them with the configuration, its size is reported, and the MicroPython Unix
port runs the compiled board drivers from the bundle alone."""
import json
import os
import subprocess
import sys
import zipfile

import pytest

from host.provisioning import bundle

ROOT = bundle.REPO_ROOT
FAKES = os.path.join(ROOT, "tests", "fakes")


def esp32_config(**board):
    """The simulator's unit-credit electricity meter, moved to an ESP32 board."""
    with open(os.path.join(ROOT, "boards", "sim", "examples", "electricity-unit.json")) as f:
        config = json.load(f)
    config["board"] = dict({"name": "esp32", "variant": "electricity"}, **board)
    return config


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle")
    config = out / "METER.json"
    config.write_text(json.dumps(esp32_config(), indent=2))
    report = bundle.build_bundle("esp32", str(config), str(out))
    return report, out


def firmware_sources():
    sources = []
    for top in ("firmware", "tokens", "boards/esp32"):
        sources.extend(bundle._python_files(ROOT, top))
    return sources


def test_every_firmware_file_compiles_with_mpy_cross(tmp_path):
    for source in firmware_sources():
        out = tmp_path / "x.mpy"
        proc = subprocess.run([bundle.mpy_cross_command(), "-march=xtensawin", "-o", str(out),
                               os.path.join(ROOT, source)], capture_output=True, text=True)
        assert proc.returncode == 0, (source, proc.stderr)
        assert out.read_bytes()[:1] == b"M"  # .mpy magic


def test_bundle_contains_every_firmware_file(built):
    report, _ = built
    bundle_dir = report["bundle_dir"]
    for source in firmware_sources():
        if source in report["skipped_host_only"]:
            continue
        if source.startswith("firmware/") and source.count("/") == 1:
            name = source.split("/")[1]
            dest = name if name in bundle.SOURCE_ENTRY_POINTS else name[:-3] + ".mpy"
        elif source.startswith("firmware/lib/"):
            dest = source[len("firmware/"):-3] + ".mpy"
        else:
            dest = "lib/" + source[:-3] + ".mpy"
        assert dest in report["files"], source
        assert os.path.exists(os.path.join(bundle_dir, dest))
    assert "lib/boards/esp32/board.mpy" in report["files"]
    assert not any(p.endswith(".py") and p not in bundle.SOURCE_ENTRY_POINTS
                   for p in report["files"])
    assert "tokens/keys.py" in report["skipped_host_only"]  # needs cryptography
    assert not any("boards/sim" in p for p in report["files"])


def test_bundle_has_the_configuration_and_reports_sizes(built):
    report, _ = built
    with open(os.path.join(report["bundle_dir"], "meter.json")) as f:
        assert json.load(f)["board"]["name"] == "esp32"
    sizes = {}
    for dirpath, _, names in os.walk(report["bundle_dir"]):
        for name in names:
            path = os.path.join(dirpath, name)
            sizes[os.path.relpath(path, report["bundle_dir"])] = os.path.getsize(path)
    assert sizes == report["files"]
    assert report["total_bytes"] == sum(sizes.values()) > 0
    assert report["compiled"] == len([p for p in sizes if p.endswith(".mpy")])
    with zipfile.ZipFile(report["archive"]) as zf:
        assert sorted(zf.namelist()) == sorted(sizes)
    assert report["archive_bytes"] == os.path.getsize(report["archive"])
    assert "mpy v6.3" in report["mpy_cross"]
    assert report["arch"] == "xtensawin"
    text = bundle.summary(report)
    assert "total" in text and str(report["total_bytes"]) in text


def test_the_decoder_key_is_left_out_of_the_bundle(built):
    """A bundle is copied around: the configuration goes in, its decoder key does not,
    and the summary says so in one line."""
    report, _ = built
    key = esp32_config()["sts"]["key"]
    with open(os.path.join(report["bundle_dir"], "meter.json")) as f:
        sts = json.load(f)["sts"]
    assert sts["key"] is None and sts["krn"] == 1 and report["secrets_left_out"] == ["sts.key"]
    for form in (key.encode(), key.upper().encode(), bytes.fromhex(key)):
        for dirpath, _, names in os.walk(report["bundle_dir"]):
            for name in names:
                with open(os.path.join(dirpath, name), "rb") as f:
                    assert form not in f.read(), name
        with zipfile.ZipFile(report["archive"]) as zf:
            assert all(form not in zf.read(n) for n in zf.namelist())
    line = [x for x in bundle.summary(report).splitlines() if "secret" in x]
    assert line == ["  left out of meter.json (secret): sts.key; a bundle is copied around, "
                    "the meter gets its key once, at provisioning (docs/meter-security.md)"]


def test_the_host_knows_the_secrets_the_firmware_knows():
    from app_config import SECRETS
    from host.provisioning import meter_secrets
    assert meter_secrets.SECRETS == tuple(path for path, _ in SECRETS)
    given = {"sts": {"key": None, "krn": 2}, "ir": {"passwords": {"reader": "r-12",
                                                                  "technician": "t-34"}}}
    clean, held = meter_secrets.without_secrets(given)
    assert clean == {"sts": {"key": None, "krn": 2},
                     "ir": {"passwords": {"reader": None, "technician": None}}}
    assert held == ["ir.passwords.reader", "ir.passwords.technician"]
    assert given["ir"]["passwords"]["reader"] == "r-12"         # a copy


def micropython():
    return os.path.join(os.path.dirname(sys.executable), "micropython")


def test_unix_port_runs_the_compiled_drivers_from_the_bundle(built, tmp_path):
    report, _ = built
    lib = os.path.join(report["bundle_dir"], "lib")
    script = tmp_path / "probe.py"
    script.write_text(
        "import machine\n"
        "from boards.esp32 import cse7766, board\n"
        "b = board.build_board({'variant': 'electricity'}, ticks_ms=machine.fake_ticks_ms)\n"
        "body = bytes([0x02, 0xF4, 0x40, 0, 0x03, 0xE8]) + bytes(12) + bytes([0x40, 0, 0])\n"
        "machine.fake_uart(2).fake_inject(b'\\x55\\x5a' + body + bytes([sum(body) & 255]))\n"
        "print(b.metering.poll(), b.supply_voltage_mv(), cse7766.__file__, board.__file__)\n")
    env = dict(os.environ, MICROPYPATH=FAKES + ":" + lib + ":.frozen")
    proc = subprocess.run([micropython(), "-X", "heapsize=200K", str(script)],
                          cwd=str(tmp_path), env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    frames, voltage_mv, cse_file, board_file = proc.stdout.split()
    assert frames == "1" and voltage_mv == "193600"  # 0x02F440 / 0x0003E8 = 193.6 V
    assert cse_file.endswith("lib/boards/esp32/cse7766.mpy")
    assert board_file.endswith("lib/boards/esp32/board.mpy")


def test_unix_port_imports_the_compiled_token_codec(built, tmp_path):
    report, _ = built
    env = dict(os.environ, MICROPYPATH=os.path.join(report["bundle_dir"], "lib") + ":.frozen")
    proc = subprocess.run([micropython(), "-c", "import tokens.errors as e; print(e.__file__)"],
                          cwd=str(tmp_path), env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("lib/tokens/errors.mpy")


def test_esp32_bundle_decodes_sta_where_its_native_core_cannot_load(built, tmp_path):
    """The ESP32 bundle ships the xtensawin STA core in its own module; on the Unix port
    that .mpy does not load, and the plain core decodes the token (POS07 CTSA12)."""
    report, _ = built
    lib = os.path.join(report["bundle_dir"], "lib")
    assert os.path.exists(os.path.join(lib, "tokens", "sta_viper.mpy"))
    env = dict(os.environ, MICROPYPATH=lib + ":.frozen")
    probe = ("from tokens import sta\nfrom tokens.decode import decode\n"
             "t = decode('00810499009609329644', bytes.fromhex('87f3ecbb2e46b48f'), 'sta')\n"
             "print(sta._core is sta._core_plain, '%016x' % t.block)\n")
    proc = subprocess.run([micropython(), "-X", "heapsize=200K", "-c", probe],
                          cwd=str(tmp_path), env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "0501fc0cfffff4b6"]


def test_native_code_follows_the_arch_bytecode_runs_anywhere(tmp_path):
    """The ESP32 bundle's native modules are xtensawin: the Unix port refuses those but
    runs its bytecode modules; an x64 build of the same sources runs entirely."""
    root = make_root(tmp_path / "repo", {
        "tokens/fast.py": ("import micropython\n\n\n@micropython.viper\n"
                           "def twice(x: int) -> int:\n    return x * 2\n"),
        "tokens/plain.py": "def twice(x):\n    return x * 2\n",
        "boards/esp32/pins.py": "",
    })
    probe = ("import tokens.plain\nprint(tokens.plain.twice(21))\n"
             "try:\n    import tokens.fast\n    print(tokens.fast.twice(21))\n"
             "except ValueError as e:\n    print(e)\n")
    outputs = {}
    for arch in ("xtensawin", "x64"):
        report = bundle.build_bundle("esp32", None, str(tmp_path / arch), arch=arch, root=root)
        assert report["arch"] == arch
        env = dict(os.environ,
                   MICROPYPATH=os.path.join(report["bundle_dir"], "lib") + ":.frozen")
        proc = subprocess.run([micropython(), "-c", probe], cwd=str(tmp_path), env=env,
                              capture_output=True, text=True)
        outputs[arch] = proc.stdout.split("\n")[:2]
    assert outputs["xtensawin"] == ["42", "incompatible .mpy arch"]
    assert outputs["x64"] == ["42", "42"]


def make_root(tmp_path, files):
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(tmp_path)


def test_entry_points_stay_source_and_host_only_modules_are_left_out(tmp_path):
    root = make_root(tmp_path / "repo", {
        "firmware/main.py": "import app\n",
        "firmware/boot.py": "pass\n",
        "firmware/app.py": "X = 1\n",
        "firmware/lib/core/reg.py": "Y = 2\n",
        "tokens/__init__.py": "",
        "tokens/keys.py": "def f():\n    from cryptography.hazmat import x\n",
        "boards/esp32/pins.py": "PINS = {}\n",
    })
    report = bundle.build_bundle("esp32", None, str(tmp_path / "out"), root=root)
    assert sorted(report["files"]) == ["app.mpy", "boot.py", "lib/boards/esp32/pins.mpy",
                                       "lib/core/reg.mpy", "lib/tokens/__init__.mpy", "main.py"]
    assert report["skipped_host_only"] == ["tokens/keys.py"]
    assert report["kept_source"] == 2 and report["config"] is None


def test_a_file_that_does_not_compile_stops_the_build_with_its_name(tmp_path):
    root = make_root(tmp_path / "repo", {
        "firmware/lib/core/broken.py": "def f(:\n",
        "boards/esp32/pins.py": "",
    })
    with pytest.raises(bundle.BundleError) as err:
        bundle.build_bundle("esp32", None, str(tmp_path / "out"), root=root)
    assert "firmware/lib/core/broken.py" in str(err.value)


def test_unknown_board_and_bad_config_are_refused(tmp_path):
    with pytest.raises(bundle.BundleError, match="unknown board"):
        bundle.build_bundle("esp8266", None, str(tmp_path))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(bundle.BundleError, match="meter configuration"):
        bundle.build_bundle("esp32", str(bad), str(tmp_path))


@pytest.mark.parametrize("change, said", [
    (lambda c: c["sts"].update(krn="x"), "sts.krn: must be an integer 1..9, got 'x'"),
    (lambda c: c.update(credit_mode="barter"), "credit_mode"),
    (lambda c: c["board"].update(name="sim"), "board.name: 'sim', but the bundle is for the "
                                              "'esp32' board"),
    (lambda c: c["board"].update(pins={"rtc": "gps"}), "board.pins.rtc: one of internal"),
])
def test_a_configuration_the_meter_would_refuse_is_refused_before_building(tmp_path, change,
                                                                            said):
    """The firmware's own checks, run in MicroPython: the same words the meter would show."""
    config = esp32_config()
    change(config)
    path = tmp_path / "METER.json"
    path.write_text(json.dumps(config))
    with pytest.raises(bundle.BundleError) as err:
        bundle.build_bundle("esp32", str(path), str(tmp_path / "out"))
    assert str(err.value).startswith("the meter would refuse %s: " % path)
    assert said in str(err.value)
    assert not (tmp_path / "out" / "prepay-esp32").exists()


def test_the_readme_provisioning_example_builds(tmp_path):
    readme = open(os.path.join(ROOT, "README.md")).read()
    line = next(x for x in readme.splitlines() if x.startswith("prepay provision bundle "))
    args = line.split()[1:]
    args[args.index("--out") + 1] = str(tmp_path)
    from host.cli import main
    assert main(args) == 0
    assert (tmp_path / "prepay-esp32" / "meter.json").exists()


def test_prepay_provision_bundle_prints_the_report(tmp_path, capsys):
    from host.cli import main
    assert main(["provision", "bundle", "--board", "esp32", "--out", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["board"] == "esp32" and report["total_bytes"] > 0
    assert main(["provision", "bundle", "--board", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown board" in capsys.readouterr().err
