"""Keypad state machine: token entry, grouping, backspace, Enter, timeout, short codes,
history browsing, the 4x4 key mapping and silencing."""
from dualrt import raises
from meter.keypad import SHORT_CODES, Keypad, group

DUAL_RUNTIME = True

TOKEN = "12345678901234567890"


def type_keys(kp, keys, t=0, step=1):
    """Press keys one second apart; returns the actions that were not None and the
    time after the last key."""
    actions = []
    for k in keys:
        a = kp.key(t, k)
        if a is not None:
            actions.append(a)
        t += step
    return actions, t


def test_grouping_of_the_entry_in_progress():
    assert group("") == ""
    assert group("1234") == "1234"
    assert group("12345") == "1234 5"
    assert group(TOKEN) == "1234 5678 9012 3456 7890"
    kp = Keypad()
    assert kp.entry_lines() is None
    type_keys(kp, "12345")
    assert kp.entry_lines() == ("1234 5", "")
    type_keys(kp, "6789012", 10)
    assert kp.entry_lines() == ("1234 5678 9012", "")
    type_keys(kp, "3", 20)
    assert kp.entry_lines() == ("1234 5678 9012", "3")
    type_keys(kp, "4567890", 30)
    assert kp.entry_lines() == ("1234 5678 9012", "3456 7890")


def test_twenty_digits_and_enter_give_a_token_and_clear_the_entry():
    for enter in ("E", "D", "#"):
        kp = Keypad()
        actions, _ = type_keys(kp, TOKEN + enter)
        assert actions == [("token", TOKEN)]
        assert kp.entry == "" and not kp.active()


def test_a_twenty_first_digit_is_ignored():
    kp = Keypad()
    actions, _ = type_keys(kp, TOKEN + "99E")
    assert actions == [("token", TOKEN)]


def test_enter_with_too_few_digits_is_an_error_and_clears():
    kp = Keypad()
    actions, _ = type_keys(kp, "1234567890123456789E")
    assert actions == [("error", "too few digits", "1234567890123456789")]
    assert kp.entry == ""
    # Enter on nothing typed is an error too, with the empty entry
    assert kp.key(100, "E") == ("error", "too few digits", "")


def test_backspace_removes_the_last_digit_and_is_harmless_when_empty():
    kp = Keypad()
    assert kp.key(0, "*") is None
    type_keys(kp, "1239*4")
    assert kp.entry == "1234"
    type_keys(kp, "****5", 10)
    assert kp.entry == "5"
    # a mistyped token corrected with backspace is accepted
    kp = Keypad()
    actions, _ = type_keys(kp, TOKEN[:10] + "7*" + TOKEN[10:] + "E")
    assert actions == [("token", TOKEN)]


def test_clear_key_empties_the_entry():
    kp = Keypad()
    type_keys(kp, "98765C")
    assert kp.entry == "" and kp.entry_lines() is None


def test_twenty_seconds_without_a_key_clear_the_entry():
    kp = Keypad()
    _, t = type_keys(kp, "123456")            # last key at t=5
    assert kp.tick(24) is None                  # 19 s after the last key
    assert kp.entry == "123456"
    assert kp.tick(25) == ("timeout", "123456")
    assert kp.entry == "" and kp.entry_lines() is None
    assert kp.tick(60) is None                  # reported once


def test_the_timeout_is_per_digit_not_per_token():
    kp = Keypad()
    # 19 s between digits: slow, but every digit comes inside the timeout
    actions, _ = type_keys(kp, TOKEN + "E", 0, 19)
    assert actions == [("token", TOKEN)]


def test_a_key_after_the_timeout_starts_a_fresh_entry():
    kp = Keypad()
    type_keys(kp, "1111")                       # nobody called tick
    kp.key(100, "2")
    assert kp.entry == "2"


def test_timeout_in_milliseconds():
    kp = Keypad(timeout=20000)
    kp.key(1000, "1")
    assert kp.tick(20999) is None
    assert kp.tick(21000) == ("timeout", "1")


def test_every_short_code_gives_its_action():
    assert sorted(SHORT_CODES) == ["01", "02", "03", "04", "05", "06", "07", "08",
                                   "09", "10", "88"]
    for code in SHORT_CODES:
        for end in ("#", "D"):
            kp = Keypad()
            actions, _ = type_keys(kp, "#" + code + end)
            assert actions == [("short", code)], (code, actions)
            assert not kp.active()
    assert SHORT_CODES["01"] == "credit"
    assert SHORT_CODES["09"] == "emergency_credit"
    assert SHORT_CODES["10"] == "ready_confirm"
    assert SHORT_CODES["88"] == "display_test"


def test_unknown_codes_are_named():
    for typed, code in (("#99#", "99"), ("#1#", "1"), ("##", ""), ("#0123#", "0123"),
                        ("#012345#", "0123")):
        kp = Keypad()
        actions, _ = type_keys(kp, typed)
        assert actions == [("error", "unknown code", code)], (typed, actions)


def test_short_code_entry_shows_and_backspaces():
    kp = Keypad()
    type_keys(kp, "#0")
    assert kp.entry_lines() == ("Code #0", "")
    type_keys(kp, "*2*", 5)
    assert kp.entry_lines() == ("Code #", "")
    kp.key(10, "*")                             # rubs out the '#'
    assert kp.entry_lines() is None and not kp.active()
    actions, _ = type_keys(kp, "#03#", 11)
    assert actions == [("short", "03")]


def test_short_code_times_out_like_digits():
    kp = Keypad()
    type_keys(kp, "#0")
    assert kp.tick(21) == ("timeout", "#0")
    assert kp.entry_lines() is None


def test_hash_after_digits_is_enter_not_a_code():
    kp = Keypad()
    actions, _ = type_keys(kp, "12#")
    assert actions == [("error", "too few digits", "12")]


def test_history_browsing_cycles_through_ten_entries():
    kp = Keypad()
    actions, t = type_keys(kp, "#08#")
    assert actions == [("short", "08")]
    seen = []
    for i in range(11):
        seen.append(kp.key(t + i, "D" if i % 2 else "B"))
    assert seen == [("history", n) for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1)]
    # a digit leaves browsing and starts a token entry
    assert kp.key(t + 20, "5") is None
    assert kp.entry == "5"
    assert kp.key(t + 21, "B") is None          # no browsing any more, mid-entry


def test_history_browsing_ends_with_the_timeout():
    kp = Keypad()
    _, t = type_keys(kp, "#08#")
    assert kp.key(t, "B") == ("history", 1)
    assert kp.tick(t + 20) is None              # nothing typed to report
    assert kp.key(t + 21, "B") == ("short", "01")


def test_letter_keys_of_a_4x4_keypad():
    kp = Keypad()
    assert kp.key(0, "A") == ("short", "09")    # emergency credit
    assert kp.key(1, "B") == ("short", "01")    # credit
    type_keys(kp, "123", 2)
    assert kp.key(5, "A") is None               # ignored mid-entry
    assert kp.entry == "123"


def test_every_key_press_latches_silence_once():
    kp = Keypad()
    assert kp.take_silence() is False
    for k in ("5", "*", "#", "C", "B", "E", "D", "A"):
        kp.key(0, k)
        assert kp.take_silence() is True, k
        assert kp.take_silence() is False


def test_keys_that_are_not_on_a_keypad_are_refused():
    kp = Keypad()
    for bad in ("X", "", "12", None):
        raises(ValueError, kp.key, 0, bad)
    assert kp.take_silence() is False
