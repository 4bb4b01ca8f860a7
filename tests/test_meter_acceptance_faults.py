"""Power cuts during token acceptance, on LittleFS over simulated NOR flash.

The flash loses power after the N-th block write, for every N through the entry of a
credit token, of a management token and of a key change set (clean and torn cuts). After
each cut a fresh device is mounted on what survived, the meter and its token acceptor
boot from it, and the customer types the same token again:

* the credit is there exactly when the token's TID is in the TID memory (a token is
  never lost: a TID remembered without its credit is completed at boot);
* the retry is Used if the first entry took effect, Accept if it did not;
* either way the credit ends exactly one token higher: never twice, never lost.

The chip is partitioned as the simulated board's: LittleFS, then the key partition.
"""
from boards.sim.blockdev import RamFlash
from boards.sim.partition import Partition
from meter.acceptance import TokenAcceptor
from meter.core import Meter
from meter.keystore import KeyStore
from test_keystore import holds, valid_versions
from test_store_faults import Mounted, mkfs
from tokens import build

DUAL_RUNTIME = True
MICROPYTHON_HEAPSIZE = "2M"  # the simulated flash images (128 KiB, several at once) are fixtures

KEY = b"\x87\xf3\xec\xbb\x2e\x46\xb4\x8f"
NEW_KEY = b"\x01\x23\x45\x67\x89\xab\xcd\xef"
T0 = 848736000                # 2026-11-23 08:00, seconds since 2000
TID = 6781440                 # 2026-11-23 08:00 on the 2014 base
MICRO = 1000000
FS_BLOCKS = 30


def config():
    return {"utility": "electricity", "credit_mode": "unit", "imp_per_unit": 1000}


def identity():
    return {"key": "87f3ecbb2e46b48f", "algorithm": "sta", "krn": 1, "kt": 2, "ti": 1,
            "sgc": 201457}


def key_partition(chip):
    return Partition(chip, FS_BLOCKS, 2)


def boot(mounted, chip, now):
    store = mounted.store()
    meter = Meter(config(), store, now)
    keys = KeyStore(key_partition(chip))
    return meter, TokenAcceptor(meter, store, identity(), now, TID - 1440, keys)


def mount(chip):
    return Mounted(Partition(chip, 0, FS_BLOCKS))


def provisioned_image():
    dev = RamFlash(4096, 32)
    mkfs(Partition(dev, 0, FS_BLOCKS))
    mounted = mount(dev)
    meter, acceptor = boot(mounted, dev, T0)
    assert acceptor.enter(T0, build.credit_token(KEY, "sta", "electricity", TID, 100).digits).accepted
    mounted.unmount()
    return dev.image()


def sweep(image, enter, check):
    """Cut after every block write of ``enter``; ``check(meter, acceptor, finished)`` after."""
    cut, finished = 0, False
    while not finished:
        for torn in (False, True):
            dev = RamFlash(4096, 32, image=image)
            dev.cut_after(cut, torn)
            mounted = mount(dev)
            try:
                enter(*boot(mounted, dev, T0 + 60))
                finished = True
            except OSError:
                pass
            mounted.unmount()
            survivor = RamFlash(4096, 32, image=dev.image())
            mounted = mount(survivor)
            check(*boot(mounted, survivor, T0 + 120))
            mounted.unmount()
        cut += 1
    return cut


def test_credit_token_is_applied_exactly_once_whatever_the_cut():
    token = build.credit_token(KEY, "sta", "electricity", TID + 1, 250).digits
    base = 10 * MICRO

    def enter(meter, acceptor):
        assert acceptor.enter(T0 + 60, token).result == "Accept"

    def check(meter, acceptor):
        applied = meter.balance_micro() == base + 25 * MICRO
        assert applied or meter.balance_micro() == base
        assert applied == (TID + 1 in acceptor.rec["tids"])
        retry = acceptor.enter(T0 + 130, token).result
        assert retry == ("Used" if applied else "Accept")
        assert meter.balance_micro() == base + 25 * MICRO

    assert sweep(provisioned_image(), enter, check) >= 10


def test_management_token_survives_any_cut():
    token = build.set_max_power_limit(KEY, "sta", TID + 2, 4000).digits

    def enter(meter, acceptor):
        assert acceptor.enter(T0 + 60, token).result == "Accept"

    def check(meter, acceptor):
        applied = TID + 2 in acceptor.rec["tids"]
        assert applied == (meter.cfg["supply"]["load_limit"]["limit_w"] == 4000)
        assert acceptor.enter(T0 + 130, token).result == ("Used" if applied else "Accept")
        assert meter.cfg["supply"]["load_limit"]["limit_w"] == 4000

    assert sweep(provisioned_image(), enter, check) >= 5


def test_key_change_is_all_or_nothing():
    kcts = build.key_change(KEY, "sta", NEW_KEY, 2, 2, 1)
    after = build.credit_token(NEW_KEY, "sta", "electricity", TID + 3, 10).digits

    def enter(meter, acceptor):
        assert acceptor.enter(T0 + 60, kcts[0].digits).result == "1stKCT"
        assert acceptor.enter(T0 + 61, kcts[1].digits).result == "Accept"

    def check(meter, acceptor):
        """One valid key, the token record showing its identity, no other key's bytes."""
        key = acceptor.keys.load()
        chip = acceptor.keys.dev.dev
        assert valid_versions(acceptor.keys.dev) == [key]
        assert acceptor.key_identity() == {"algorithm": "sta", "krn": key["krn"], "kt": 2,
                                           "ti": 1, "ken": 255, "sgc": 201457}
        image = chip.image()
        assert not holds(image, key["key"], FS_BLOCKS * 4096)      # not in LittleFS
        if acceptor.rec["krn"] == 2:
            assert key["key"] == "0123456789abcdef" and not holds(image, "87f3ecbb2e46b48f")
        else:
            assert key["key"] == "87f3ecbb2e46b48f" and not holds(image, "0123456789abcdef")
            for kct in kcts:
                acceptor.enter(T0 + 130, kct.digits)
        assert acceptor.enter(T0 + 131, after).result == "Accept"

    assert sweep(provisioned_image(), enter, check) >= 3
