"""``prepay vend token test``: a clerk's class 1 test token by control bits or by name;
the output and the audit log say what it asks the meter for (SQLite and PostgreSQL)."""
import json

import pytest

from test_vend_cli import CLERK, session  # noqa: F401 (the clerk's station fixture)
from tokens import build


def test_clerk_issues_test_tokens_that_say_what_they_ask_for(session):
    s = session
    every = json.loads(s.ok("token", "test", "--json", **CLERK))
    assert every["digits"] == build.test_token(0).digits and every["tests"] == "all tests"
    named = s.ok("token", "test", "--test", "load_switch", "--test", "display", **CLERK)
    assert named.splitlines()[0] == "test token: load switch test, display test"
    assert build.test_token(3).digits[:4] in named
    entry = json.loads(s.ok("audit", "show", "--last", 1, "--json"))["entries"][0]
    assert "load switch test, display test" in json.dumps(entry)
    with pytest.raises(SystemExit) as refused:
        s.run("token", "test", "--control", 1, "--test", "ken", **CLERK)
    assert refused.value.code == 2 and "not allowed with" in s.capsys.readouterr().err
