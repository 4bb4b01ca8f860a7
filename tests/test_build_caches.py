"""Build caches are keyed by content, not file times: an older file put back over a newer
one (a ``git checkout`` of an older commit, ``cp -p`` from another tree) is built again,
in the simulator's bundle cache, the tests' ``.mpy`` cache and the frozen build's key."""
import importlib.util
import os
import shutil
import subprocess
import time

from host import buildcache
from host.firmware import build as firmware
from host.firmware.manifest import manifest_text
from host.provisioning.bundle import REPO_ROOT
from host.sim.bundle import firmware_bundle

MODULE = os.path.join("firmware", "lib", "meter", "tariff.py")


def _tests_conftest():
    """tests/conftest.py itself: ``import conftest`` finds whichever conftest pytest
    imported last (tests/vending's, tests/hil's) when the whole suite runs."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "conftest.py")
    spec = importlib.util.spec_from_file_location("prepay_tests_conftest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


conftest = _tests_conftest()


def checkout(tmp_path):
    root = tmp_path / "repo"
    for top in ("firmware", "tokens", "boards"):
        shutil.copytree(os.path.join(REPO_ROOT, top), root / top,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return str(root)


def put_back_older(path, text):
    """``text`` written to ``path`` with a time a day older than anything built."""
    with open(path, "w") as f:
        f.write(text)
    old = time.time() - 86400
    os.utime(path, (old, old))


def run_mpy(tree, code):
    out = subprocess.run([conftest.micropython_command(), "-c",
                          "import sys\nsys.path.insert(0, %r)\n%s" % (tree, code)],
                         capture_output=True, text=True, cwd="/")
    return out.stdout.strip() or out.stderr


def test_the_tests_mpy_cache_takes_an_older_file_put_back(tmp_path):
    root, cache = checkout(tmp_path), str(tmp_path / "cache")
    module = os.path.join(root, "tokens", "probe.py")
    put_back_older(module, "VERSION = 1\n")
    first = conftest.compile_for_micropython(root, cache)
    assert run_mpy(first, "import tokens.probe; print(tokens.probe.VERSION)") == "1"
    with open(module, "w") as f:
        f.write("VERSION = 2\n")
    second = conftest.compile_for_micropython(root, cache)
    assert run_mpy(second, "import tokens.probe; print(tokens.probe.VERSION)") == "2"
    put_back_older(module, "VERSION = 1\n")
    again = conftest.compile_for_micropython(root, cache)
    assert again == first
    assert run_mpy(again, "import tokens.probe; print(tokens.probe.VERSION)") == "1"
    # the tree a running test imports from is still whole after another is made
    assert os.path.exists(os.path.join(second, "tokens", "probe.mpy"))


def test_the_sim_bundle_cache_takes_an_older_file_put_back(tmp_path):
    root, cache = checkout(tmp_path), str(tmp_path / "cache")
    path = os.path.join(root, MODULE)
    with open(path) as f:
        original = f.read()
    first = firmware_bundle(root, cache)
    with open(first + "/lib/meter/tariff.mpy", "rb") as f:
        built = f.read()
    with open(path, "a") as f:
        f.write("\nNEWER = 1\n")
    second = firmware_bundle(root, cache)
    assert second != first
    put_back_older(path, original)
    again = firmware_bundle(root, cache)
    assert again == first
    with open(again + "/lib/meter/tariff.mpy", "rb") as f:
        assert f.read() == built
    assert os.path.exists(os.path.join(os.path.dirname(again), "lib.romfs"))


def test_the_frozen_build_key_takes_an_older_file_put_back(tmp_path):
    root = checkout(tmp_path)
    path = os.path.join(root, MODULE)
    with open(path) as f:
        original = f.read()

    def key():
        return firmware._input_hash("frozen32", "src", manifest_text("sim", "unix", root), root)
    first = key()
    with open(path, "a") as f:
        f.write("\n# newer\n")
    assert key() != first
    put_back_older(path, original)
    assert key() == first


def test_products_unused_for_a_day_go_and_the_one_in_use_stays(tmp_path):
    folder = str(tmp_path)
    made = []
    for name in ("old", "in-use", "recent"):
        made.append(buildcache.product(folder, name, lambda into: None))
    day_ago = time.time() - buildcache.IDLE_S - 60
    for path in made[:2]:
        os.utime(path, (day_ago, day_ago))
    buildcache.use(made[1])
    buildcache.prune(folder, keep=made[2])
    assert sorted(os.listdir(folder)) == ["in-use", "recent"]
