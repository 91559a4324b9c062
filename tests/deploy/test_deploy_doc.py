#!/usr/bin/env python3
"""deploy.doc: follows docs/deploy.md literally, as far as a machine without
systemd as PID 1 allows, so the guide and the installation cannot drift apart.

Every ```sh block of the guide runs, in order, in one bash -euo pipefail
shell started in the source tree, with two changes:
  - absolute paths under /etc, /usr/local, /var and /run point into a scratch
    root instead (the guide's `cmake --install` goes there with DESTDIR);
  - the commands that need the real host are stand-ins (doc_stub.py says which
    and what each does); their calls are checked afterwards.
Everything else (openssl, ln, renderqctl init/token/backup/status, sqlite3, the
real systemd-sysusers and systemd-tmpfiles on the scratch root, nginx -t of the
enabled site) runs for real.

Then: every unit the guide starts or enables is installed, its package list
covers scripts/install-deps, and the backups it made pass integrity checks.
"""
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

import deploy_lib as lib

SKIP = 77
HERE = pathlib.Path(__file__).resolve().parent
STUBS = ("apt-get", "systemctl", "journalctl", "curl", "cmake", "nginx", "runuser", "install",
         "systemd-sysusers", "systemd-tmpfiles")
HOST_PATH = re.compile(r"""(?<=[\s"'=>(])(?=/(?:etc|usr/local|var|run)/)""")


def sh_blocks(markdown):
    """(line number, text) of every ```sh block."""
    blocks, current, start = [], None, 0
    for number, line in enumerate(markdown.splitlines(), 1):
        if current is None and line.strip() == "```sh":
            current, start = [], number
        elif current is not None and line.strip() == "```":
            blocks.append((start, "\n".join(current)))
            current = None
        elif current is not None:
            current.append(line)
    if current is not None:
        raise lib.Failure("docs/deploy.md:%d: unterminated ```sh block" % start)
    return blocks


def script_for(blocks, root):
    parts = ["set -euo pipefail"]
    for line, text in blocks:
        parts.append("echo '## docs/deploy.md:%d'" % line)
        parts.append(HOST_PATH.sub(str(root), text))
    return "\n".join(parts) + "\n"


def make_stubs(stub_dir):
    stub_dir.mkdir()
    for name in STUBS:
        os.symlink(HERE / "doc_stub.py", stub_dir / name)


def calls(log):
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def install_deps_packages(source_dir):
    text = (pathlib.Path(source_dir) / "scripts/install-deps").read_text()
    body = re.search(r"(?s)^packages=\((.*?)\)", text, re.M).group(1)
    return set(body.split())


def check_calls(recorded, units, source_dir):
    installed = {u.name for u in units.iterdir()}
    for call in recorded:
        if call[0] != "systemctl":
            continue
        for arg in call[1:]:
            if not arg.startswith("renderq") or "*" in arg:
                continue
            unit = re.sub(r"@[^.]*\.", "@.", arg)
            if unit not in installed:
                raise lib.Failure("the guide runs systemctl on %s, which is not installed" % arg)
    asked = {a for call in recorded if call[:2] == ["apt-get", "install"] for a in call[2:]}
    missing = install_deps_packages(source_dir) - asked
    if missing:
        raise lib.Failure("the guide's apt-get install lacks %s (scripts/install-deps has them)"
                          % ", ".join(sorted(missing)))
    if not any(call[:2] == ["cmake", "--install"] for call in recorded):
        raise lib.Failure("the guide never runs cmake --install")


def check_backups(root):
    backups = sorted((root / "var/backups/renderq").glob("*.db"))
    if len(backups) < 2:
        raise lib.Failure("expected the guide's two backups, found %s" % backups)
    for backup in backups:
        done = lib.run(["sqlite3", backup, "PRAGMA integrity_check"])
        if done.stdout.strip() != "ok":
            raise lib.Failure("%s: integrity_check says %s" % (backup, done.stdout))


def main():
    source_dir = os.environ.get("RENDERQ_SOURCE_DIR")
    binary_dir = os.environ.get("RENDERQ_BINARY_DIR")
    if not source_dir or not binary_dir:
        print("RENDERQ_SOURCE_DIR / RENDERQ_BINARY_DIR not set (run through ctest)")
        return 2
    if os.geteuid() != 0:
        print("skipped: the guide is written for root (chmod, chown of the state directory)")
        return SKIP
    missing = lib.missing_tools("nginx", "openssl", "sqlite3", "systemd-analyze",
                                "systemd-sysusers", "systemd-tmpfiles")
    if missing:
        print("skipped: missing " + ", ".join(missing))
        return SKIP
    with tempfile.TemporaryDirectory(prefix="renderq-doc-") as scratch:
        scratch = pathlib.Path(scratch)
        root, stubs, log = scratch / "root", scratch / "stubs", scratch / "calls.log"
        try:
            blocks = sh_blocks((pathlib.Path(source_dir) / "docs/deploy.md").read_text())
            lib.make_host_like(root)
            make_stubs(stubs)
            prefix = lib.cache_value(binary_dir, "CMAKE_INSTALL_PREFIX")
            env = dict(os.environ, DOC_ROOT=str(root), DOC_LOG=str(log),
                       DOC_REAL_PATH=os.environ["PATH"],
                       PATH="%s:%s%s/bin:%s" % (stubs, root, prefix, os.environ["PATH"]))
            env.pop("RENDERQ_DB", None)
            script = scratch / "deploy.sh"
            script.write_text(script_for(blocks, root))
            done = subprocess.run(["bash", script], cwd=source_dir, env=env, timeout=240,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            print(done.stdout)
            if done.returncode != 0:
                raise lib.Failure("the guide's commands failed (exit %d); the last "
                                  "'## docs/deploy.md:N' above is the block" % done.returncode)
            check_calls(calls(log), lib.unit_dir(root, prefix), source_dir)
            check_backups(root)
        except lib.Failure as e:
            print("FAIL: %s" % e)
            return 1
    print("ok: %d blocks of docs/deploy.md ran" % len(blocks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
