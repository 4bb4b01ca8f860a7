"""The firmware bundle the simulator runs: built for the ``sim`` board, compiled with
mpy-cross and packed as a ROMFS image, cached under ``build/sim-bundle`` and rebuilt when a
source is newer than it."""
import os
import shutil
import tempfile

from host.errors import UserError
from host.provisioning.bundle import build_bundle

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUNDLE_CACHE = os.path.join(REPO, "build", "sim-bundle")
SOURCES = ("firmware", "tokens", "boards/sim")


def _newest_source():
    newest = 0
    for top in SOURCES:
        for folder, dirs, files in os.walk(os.path.join(REPO, top)):
            dirs[:] = [d for d in dirs if not d.startswith((".", "__"))]
            for name in files:
                if name.endswith(".py"):
                    newest = max(newest, os.stat(os.path.join(folder, name)).st_mtime_ns)
    return newest


def firmware_bundle():
    """The compiled sim bundle's root, rebuilt when a source is newer than it."""
    root = os.path.join(BUNDLE_CACHE, "prepay-sim")
    stamp = os.path.join(BUNDLE_CACHE, "stamp")
    newest = _newest_source()
    try:
        with open(stamp) as f:
            if int(f.read()) >= newest and os.path.isdir(root):
                return root
    except (OSError, ValueError):
        pass
    os.makedirs(os.path.dirname(BUNDLE_CACHE), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="sim-bundle-", dir=os.path.dirname(BUNDLE_CACHE))
    build_bundle("sim", None, tmp)
    make_romfs_image(os.path.join(tmp, "prepay-sim", "lib"), os.path.join(tmp, "lib.romfs"))
    with open(os.path.join(tmp, "stamp"), "w") as f:
        f.write(repr(newest))
    old = BUNDLE_CACHE + ".old-%d" % os.getpid()
    try:
        os.rename(BUNDLE_CACHE, old)
    except OSError:
        old = None
    try:
        os.rename(tmp, BUNDLE_CACHE)
    except OSError:      # another launcher won the race: use its bundle
        shutil.rmtree(tmp, ignore_errors=True)
    if old:
        shutil.rmtree(old, ignore_errors=True)
    return root


def make_romfs_image(lib_dir, out_path):
    """The bundle's /lib as a ROMFS image (mpremote's builder; its tree listing muted)."""
    import contextlib
    import io
    try:
        from mpremote.romfs import make_romfs
    except ImportError:
        raise UserError("mpremote is missing (it builds the ROMFS image): pip install mpremote")
    with contextlib.redirect_stdout(io.StringIO()):
        image = make_romfs(lib_dir, mpy_cross=False)
    with open(out_path, "wb") as f:
        f.write(image)
