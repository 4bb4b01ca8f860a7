"""The firmware bundle the simulator runs: built for the ``sim`` board, compiled with
mpy-cross and packed as a ROMFS image, cached under ``build/sim-bundle/<key>/`` by the
content of what goes in (every shipped file, the builders, the tools' versions:
``host/buildcache.py``), so an older file put back is built again, not missed."""
import os

from host import buildcache
from host.errors import UserError
from host.provisioning import bundle as provisioning_bundle

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUNDLE_CACHE = os.path.join(REPO, "build", "sim-bundle")
BOARD = "sim"
BUILDERS = ("host/provisioning/bundle.py", "host/sim/bundle.py")


def _tool_versions():
    from importlib.metadata import PackageNotFoundError, version
    try:
        mpremote = version("mpremote")
    except PackageNotFoundError:
        mpremote = None
    return provisioning_bundle.mpy_cross_version(), mpremote


def bundle_key(root=REPO):
    """The cache key: the shipped files' bytes and places, the builders, the tools."""
    entries, _ = provisioning_bundle.shipped(root, BOARD)
    files = [(dest, os.path.join(root, source)) for source, dest, _ in entries]
    files += [(name, os.path.join(REPO, name)) for name in BUILDERS]
    return buildcache.content_key((BOARD, entries, _tool_versions()), files)


def firmware_bundle(root=REPO, cache=BUNDLE_CACHE):
    """The compiled sim bundle's root (``lib.romfs`` beside it), built when missing."""
    def make(into):
        provisioning_bundle.build_bundle(BOARD, None, into, root=root)
        make_romfs_image(os.path.join(into, "prepay-sim", "lib"),
                         os.path.join(into, "lib.romfs"))
    return os.path.join(buildcache.product(cache, bundle_key(root), make), "prepay-sim")


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
