"""The README's `prepay token` and `prepay key` examples work as printed, and its `prepay read`
section runs as pasted against a simulated meter."""
import csv
import os
import re
import shlex
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def examples():
    """(command, expected output lines) for each '$ prepay token|key' line of README.md."""
    lines = open(os.path.join(ROOT, "README.md")).read().splitlines()
    found = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if re.match(r"\$ (printf .*\| )?prepay (token|key) ", line):
            command = line[2:]
            while command.endswith("\\"):
                i += 1
                command = command[:-1] + lines[i].strip()
            expected = []
            while i + 1 < len(lines) and lines[i + 1] and not lines[i + 1].startswith(("$", "```")):
                i += 1
                expected.append(lines[i])
            found.append((command.split("  #")[0].strip(), expected))
        i += 1
    return found


EXAMPLES = examples()


def test_the_readme_has_examples():
    assert len(EXAMPLES) >= 12


@pytest.mark.parametrize("command, expected", EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_readme_example(command, expected):
    stdin = None
    if command.startswith("printf"):
        printf, command = command.split(" | ", 1)
        stdin = subprocess.run(["bash", "-c", printf], capture_output=True, text=True).stdout
    args = shlex.split(command)
    assert args[0] == "prepay"
    proc = subprocess.run([sys.executable, "-m", "host.cli"] + args[1:], cwd=ROOT, input=stdin,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert out[:len(expected)] == expected


# ---------------------------------------------------------------------------- prepay read
READ_SECTION = "## `prepay read`"


def section_commands(heading):
    """The shell commands of a README section's code blocks, a heredoc kept with its
    command, comments as printed."""
    text = open(os.path.join(ROOT, "README.md")).read()
    start = text.index(heading)
    end = text.index("\n## ", start + 1)
    found = []
    for block in re.findall(r"```\n(.*?)```", text[start:end], re.S):
        lines = block.splitlines()
        i = 0
        while i < len(lines):
            command = lines[i]
            i += 1
            heredoc = re.search(r"<<'(\w+)'", command)
            while heredoc and i < len(lines):
                command += "\n" + lines[i]
                i += 1
                if lines[i - 1] == heredoc.group(1):
                    break
            found.append(command)
    return found


def run_section(commands, tmp, env, answers=()):
    """Run the commands as one bash session, as pasted into a terminal, with /tmp/ as
    ``tmp`` and ``answers`` typed at its prompts; returns [(command, exit status, output)] (the background simulator's
    own lines left out)."""
    script = ["exec 2>&1"]
    for k, command in enumerate(commands):
        script.append("echo '@@@ %d'" % k)
        script.append(command.replace("/tmp/", tmp + "/"))
        script.append("echo \"@@@ %d rc=$?\"" % k)
    log = os.path.join(tmp, "session.log")  # a file: the simulator's children keep a pipe open
    typed = os.path.join(tmp, "typed")      # what its user types at the prompts (read -rsp)
    with open(typed, "w") as f:
        f.write("".join(answer + "\n" for answer in answers))
    with open(log, "w") as f, open(typed) as keyboard:
        proc = subprocess.Popen(["bash", "-c", "\n".join(script)], cwd=ROOT, env=env, stdin=keyboard,
                                stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        proc.wait(timeout=600)
    finally:
        try:        # what the session left running (the simulator's firmware process)
            os.killpg(proc.pid, 9)
        except ProcessLookupError:
            pass
        proc.wait()
    with open(log) as f:
        out = f.read()
    results = []
    for k, command in enumerate(commands):
        body = re.search(r"^@@@ %d\n(.*?)^@@@ %d rc=(\d+)$" % (k, k), out, re.S | re.M)
        assert body, "no result for %r:\n%s" % (command, out[-3000:])
        lines = [x for x in body.group(1).splitlines() if not x.startswith("prepay sim:")]
        results.append((command, int(body.group(2)), "\n".join(lines)))
    return results


def test_readme_prepay_read_lines_work_against_a_simulated_meter(tmp_path):
    commands = section_commands(READ_SECTION)
    assert len(commands) >= 16
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
               PREPAY_METER_NEW_PASSWORD="rd-0042")
    env.pop("PREPAY_METER_PASSWORD", None)
    results = run_section(commands, str(tmp_path), env, answers=["tech-0815"])   # the technician's
    out = {}
    for command, rc, text in results:
        words = command.split("#")[0].split()
        job = " ".join(words[:3]) if words[:2] == ["prepay", "read"] else command[:20]
        expected = 1 if job == "prepay read route" else 0       # its second meter fails
        assert rc == expected, (command, rc, text)
        out[job] = out.get(job, "") + text + "\n"
    readout = out["prepay read --port"]
    assert re.search(r"^1-0:1\.8\.0 +0\.000 kWh  active energy import, total$", readout, re.M)
    assert '"0-0:19.0.0": {' in readout                          # --json
    assert re.search(r"^0-0:19\.0\.0 +\d+\.\d\d KES  available credit$", readout, re.M)  # --obis
    assert "meter clock set: 2026-11-24T09:00:00" in out["prepay read set-clock"]
    assert "token accepted: Accept" in out["prepay read send-token"]
    assert "pending tariff from 2026-12-01T00:00:00" in out["prepay read set-tariff"]
    assert "write_pending_tariff" in out["prepay read events"]
    assert "reader password changed" in out["prepay read set-password"]
    assert "route: 1 read, 1 failed" in out["prepay read route"]
    rows = list(csv.DictReader(open(tmp_path / "route.csv")))
    assert {r["status"] for r in rows} == {"ok", "failed"}
    assert [r["error"] for r in rows if r["status"] == "failed"][0].startswith("cannot open")
    by_hand, library = [text for command, _, text in results if command.startswith("python3")][1:]
    assert "/PPM5" in by_hand and "1-0:1.8.0(0.000*kWh)" in by_hand
    assert re.search(r"^1-0:1\.8\.0 0\.000 kWh$", library, re.M)
    assert "tech-0815" not in "".join(text for _, _, text in results)
