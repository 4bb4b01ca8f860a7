"""The TID memory's Old rule (sts.md section 10), in both runtimes.

A token whose TID is older than the oldest TID the meter still remembers is Old, even
if it was never used: the meter cannot tell it from one that was. The field fault
(issue 11): tokens at 08:00 and 08:10, then 50 newer from 08:20; the meter compared
with the highest TID it had dropped (08:10), so an unused 08:15 token credited it.

Here: that story and its boundaries, the memory shared with management tokens, refused
tokens that must not move the boundary, key expiry and rollover, and the rule after a
power cut at every save of the entry that pushes the oldest TID out (RAM store, then
LittleFS on simulated flash with clean and torn cuts).
"""
import gc

from boards.sim.blockdev import RamFlash
from meter import civil
from meter.acceptance import TID_MEMORY, TokenAcceptor, is_old
from meter.core import Meter
from meter.store import MemoryStore
from test_store_faults import Mounted, mkfs
from tokens import build
from tokens.tid import TID_MAX, tid_at

DUAL_RUNTIME = True
MICROPYTHON_HEAPSIZE = "1M"  # the simulated flash images are test fixtures

KEY = b"\x87\xf3\xec\xbb\x2e\x46\xb4\x8f"
NEW_KEY = b"\x11\x22\x33\x44\x55\x66\x77\x88"
NEW_KEY_HEX = "1122334455667788"
T0 = civil.seconds(2026, 11, 23, 9, 30)
MICRO = 1000000
BLOCKS = 16


def at(hour, minute):
    """The TID of a token issued that morning."""
    return tid_at(2014, 2026, 11, 23, hour, minute)


def config(**over):
    cfg = {"utility": "electricity", "credit_mode": "unit", "imp_per_unit": 1000}
    for k in over:
        cfg[k] = over[k]
    return cfg


def identity(**over):
    sts = {"key": "87f3ecbb2e46b48f", "algorithm": "sta", "krn": 1, "kt": 2, "ti": 1,
           "ken": 255, "sgc": 201457}
    for k in over:
        sts[k] = over[k]
    return sts


FLOOR = at(0, 0)


def boot(store, cfg=None, sts=None, now=T0):
    meter = Meter(cfg or config(), store, now)
    return meter, TokenAcceptor(meter, store, sts or identity(), now, FLOOR)


def credit(tid, tenths=10, key=KEY):
    return build.credit_token(key, "sta", "electricity", tid, tenths).digits


def the_issue_story(acc):
    """08:00, 08:10, then 50 tokens every other minute from 08:20 (08:20 ... 10:58)."""
    newer = [at(8, 20) + 2 * i for i in range(TID_MEMORY)]
    for tid in [at(8, 0), at(8, 10)] + newer:
        assert acc.enter(T0, credit(tid)).result == "Accept"
    return newer


def test_an_unused_token_older_than_the_memory_is_old():
    store = MemoryStore()
    meter, acc = boot(store)
    newer = the_issue_story(acc)
    assert acc.rec["tids"] == newer and acc.rec["floor"] == at(8, 10)
    balance = meter.balance_micro()
    assert acc.enter(T0, credit(at(8, 15))).result == "Old"        # the field fault
    assert acc.enter(T0, credit(at(8, 19))).result == "Old"        # just below the oldest
    assert acc.enter(T0, credit(at(8, 20))).result == "Used"       # the oldest remembered
    assert acc.enter(T0, credit(at(8, 10))).result == "Old"        # dropped
    assert meter.balance_micro() == balance
    assert acc.enter(T0, credit(at(8, 21))).result == "Accept"     # a gap inside the memory
    assert acc.rec["tids"][0] == at(8, 21) and len(acc.rec["tids"]) == TID_MEMORY
    assert acc.enter(T0, credit(at(8, 20))).result == "Old"        # pushed out by 08:21
    assert meter.balance_micro() == balance + MICRO
    meter, acc = boot(store, now=T0 + 60)                           # a power cycle
    assert acc.enter(T0 + 60, credit(at(8, 15))).result == "Old"
    assert acc.enter(T0 + 60, credit(at(8, 21))).result == "Used"


def test_until_the_memory_is_full_the_floor_is_its_oldest():
    meter, acc = boot(MemoryStore())
    assert acc.enter(T0, credit(at(8, 10))).result == "Accept"
    assert acc.enter(T0, credit(FLOOR)).result == "Old"             # provisioning minute
    assert acc.enter(T0, credit(FLOOR + 10)).result == "Accept"     # older, never used
    for i in range(TID_MEMORY - 3):
        assert acc.enter(T0, credit(at(9, 0) + i)).result == "Accept"
    assert len(acc.rec["tids"]) == TID_MEMORY - 1
    assert acc.enter(T0, credit(FLOOR + 20)).result == "Accept"     # fills the memory
    assert acc.enter(T0, credit(FLOOR + 5)).result == "Old"         # below a full memory
    assert acc.enter(T0, credit(FLOOR + 15)).result == "Accept"     # a gap: pushes +10 out
    assert acc.enter(T0, credit(FLOOR + 12)).result == "Old"
    assert acc.enter(T0, credit(FLOOR + 10)).result == "Old"


def test_a_record_saved_by_earlier_firmware_gets_the_rule():
    """Earlier firmware saved the highest dropped TID as the floor: the same list is
    read with the new rule, no migration needed."""
    store = MemoryStore()
    meter, acc = boot(store)
    rec = acc.rec
    rec["tids"] = [at(8, 20) + 2 * i for i in range(TID_MEMORY)]
    rec["floor"] = at(8, 10)
    store.save("tokens", rec)
    meter, acc = boot(store)
    assert acc.enter(T0, credit(at(8, 15))).result == "Old"
    assert is_old(acc.rec, at(8, 19)) and not is_old(acc.rec, at(8, 21))


def test_management_tokens_share_the_memory():
    meter, acc = boot(MemoryStore())
    newer = the_issue_story(acc)
    limit = build.set_max_power_limit(KEY, "sta", at(8, 15), 3000).digits
    assert acc.enter(T0, limit).result == "Old"                     # as old as a credit
    assert meter.cfg["supply"]["load_limit"]["limit_w"] == 0
    limit = build.set_max_power_limit(KEY, "sta", at(8, 21), 3000).digits
    assert acc.enter(T0, limit).result == "Accept"                  # pushes 08:20 out
    assert acc.enter(T0, credit(newer[0])).result == "Old"
    assert acc.enter(T0, limit).result == "Used"


def test_a_refused_token_does_not_move_the_boundary():
    meter, acc = boot(MemoryStore(), cfg=config(credit={"max_micro": 60 * MICRO}))
    newer = the_issue_story(acc)
    before = list(acc.rec["tids"])
    big = credit(at(8, 21), 100)                                    # 52 + 10 kWh: Overflow
    assert acc.enter(T0, big).result == "Overflow"
    assert acc.rec["tids"] == before and acc.rec["floor"] == at(8, 10)
    assert acc.enter(T0, credit(newer[0])).result == "Used"         # still the oldest
    assert acc.enter(T0, credit(at(8, 19))).result == "Old"
    water = build.set_water_meter_factor(KEY, "sta", at(8, 23), 990).digits
    assert acc.enter(T0, water).result == "Function"                # not a water meter
    assert acc.rec["tids"] == before
    meter.clear_credit(T0, 0)
    assert acc.enter(T0, big).result == "Accept"                    # the token kept its worth


def test_key_expiry_boundary():
    tid = at(8, 0)
    top = tid >> 16
    meter, acc = boot(MemoryStore(), sts=identity(ken=top))
    assert acc.enter(T0, credit(tid)).result == "Accept"            # top 8 bits == KEN
    assert acc.enter(T0, credit(((top + 1) << 16) - 1)).result == "Accept"
    assert acc.enter(T0, credit((top + 1) << 16)).result == "Key expired"
    meter, acc = boot(MemoryStore(), sts=identity(ken=top - 1))
    assert acc.enter(T0, credit(tid)).result == "Key expired"


def test_key_changes_keep_the_rule_and_a_rollover_clears_it():
    store = MemoryStore()
    meter, acc = boot(store)
    the_issue_story(acc)
    for kct in build.key_change(KEY, "sta", NEW_KEY, 2, 2, 1):
        acc.enter(T0, kct.digits)
    assert acc.rec["krn"] == 2
    assert acc.enter(T0, credit(at(8, 15), key=NEW_KEY)).result == "Old"
    meter, acc = boot(store, sts=identity(key=NEW_KEY_HEX), now=T0 + 60)
    assert acc.enter(T0 + 60, credit(at(8, 15), key=NEW_KEY)).result == "Old"
    assert acc.enter(T0 + 60, credit(at(11, 30), key=NEW_KEY)).result == "Accept"
    # the last minutes of a base date, then the rollover key change to the next one
    assert acc.enter(T0 + 60, credit(TID_MAX, key=NEW_KEY)).result == "Accept"
    for kct in build.key_change(NEW_KEY, "sta", KEY, 3, 2, 1, rollover=True):
        acc.enter(T0 + 60, kct.digits)
    assert acc.rec["tids"] == [] and acc.rec["floor"] == 0
    meter, acc = boot(store, now=T0 + 120)                          # (KEY again)
    assert acc.enter(T0 + 120, credit(1000)).result == "Accept"     # a 2035-base TID
    assert acc.enter(T0 + 120, credit(999)).result == "Accept"      # memory not yet full


class CutStore(MemoryStore):
    """A RAM store whose power fails at the n-th save: that save does not happen."""

    def __init__(self):
        MemoryStore.__init__(self)
        self.cut_at = 0

    def save(self, name, record):
        self.cut_at -= 1
        if self.cut_at == 0:
            raise OSError(5)
        MemoryStore.save(self, name, record)


def test_a_cut_at_any_save_of_the_pushing_entry_keeps_the_rule():
    """The 51st token pushes 08:20 out: cut at each of its saves, power back, retry."""
    token = credit(at(8, 21), 25)
    cut = 1
    while True:
        store = CutStore()
        meter, acc = boot(store)
        newer = the_issue_story(acc)
        balance = meter.balance_micro()
        store.cut_at = cut
        try:
            acc.enter(T0, token)
            finished = True
        except OSError:
            finished = False
        store.cut_at = 0
        meter, acc = boot(store, now=T0 + 60)
        applied = at(8, 21) in acc.rec["tids"]
        assert meter.balance_micro() == balance + (25 * MICRO // 10 if applied else 0)
        assert len(acc.rec["tids"]) == TID_MEMORY
        assert acc.enter(T0 + 60, credit(at(8, 15))).result == "Old"
        assert acc.enter(T0 + 60, credit(at(8, 19))).result == "Old"
        assert acc.enter(T0 + 60, token).result == ("Used" if applied else "Accept")
        assert acc.enter(T0 + 60, credit(newer[0])).result == "Old"   # pushed out either way
        assert meter.balance_micro() == balance + 25 * MICRO // 10
        if finished:
            break
        cut += 1
    assert cut >= 3


def test_littlefs_cut_at_any_block_write_keeps_the_rule():
    """The same on LittleFS over simulated NOR flash, clean and torn cuts."""
    dev = RamFlash(4096, BLOCKS)
    mkfs(dev)
    mounted = Mounted(dev)
    meter, acc = boot(mounted.store())
    newer = the_issue_story(acc)
    balance = meter.balance_micro()
    mounted.unmount()
    image = dev.image()
    token = credit(at(8, 21), 25)
    cut, finished = 0, False
    while not finished:
        for torn in (False, True):
            gc.collect()
            dev = RamFlash(4096, BLOCKS, image=image)
            dev.cut_after(cut, torn)
            mounted = Mounted(dev)
            try:
                boot(mounted.store())[1].enter(T0, token)
                finished = True
            except OSError:
                pass
            mounted.unmount()
            mounted = Mounted(RamFlash(4096, BLOCKS, image=dev.image()))
            meter, acc = boot(mounted.store(), now=T0 + 60)
            applied = at(8, 21) in acc.rec["tids"]
            assert meter.balance_micro() == balance + (25 * MICRO // 10 if applied else 0)
            assert acc.enter(T0 + 60, credit(at(8, 15))).result == "Old"
            assert acc.enter(T0 + 60, token).result == ("Used" if applied else "Accept")
            assert acc.enter(T0 + 60, credit(newer[0])).result == "Old"
            mounted.unmount()
        cut += 1
    assert cut >= 5
