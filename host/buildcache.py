"""Build products cached by the content of what goes into them, never by file times: a
checkout of older files (``git checkout``, ``cp -p``, another tree) has older times than
the product built from newer ones and would be taken for it.

A product lives in ``<folder>/<key>/``; it is made in a temporary folder beside it and
renamed into place whole, so another process sees it complete or not at all (two that
make it at once keep the first). A process using a product keeps it, whatever is built
after it; products nobody has used for ``IDLE_S`` go (``use`` marks one used).
"""
import hashlib
import os
import shutil
import tempfile
import time

IDLE_S = 86400
TMP_PREFIX = ".making-"


def content_key(parts, files):
    """A short hex key over ``parts`` (their reprs) and ``files``, ``(name, path)`` pairs:
    each file's name and bytes."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(repr(part).encode() + b"\0")
    for name, path in files:
        with open(path, "rb") as f:
            digest.update(name.encode() + b"\0" + f.read() + b"\0")
    return digest.hexdigest()[:20]


def use(path):
    """Mark a product used now (its idle time starts again); False when it is gone."""
    try:
        os.utime(path)
        return True
    except OSError:
        return False


def product(folder, key, make):
    """``folder/key``, made by ``make(tmp_dir)`` when it is not there yet."""
    final = os.path.join(folder, key)
    if os.path.isdir(final) and use(final):
        return final
    os.makedirs(folder, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=TMP_PREFIX, dir=folder)
    try:
        make(tmp)
        os.rename(tmp, final)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not os.path.isdir(final):    # not a process that made it first: a real failure
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    prune(folder, keep=final)
    return final


def prune(folder, keep, idle_s=IDLE_S):
    """Remove the products (and abandoned temporary folders) unused for ``idle_s``."""
    now = time.time()
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        try:
            idle = now - os.stat(path).st_mtime
        except OSError:
            continue
        if path == keep or idle <= idle_s:
            continue
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        else:                           # left by an earlier layout of the cache
            try:
                os.remove(path)
            except OSError:
                pass
