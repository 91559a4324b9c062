#!/usr/bin/env python3
"""deploy.install: `cmake --install` of the build into a scratch root (DESTDIR),
then the installed layout is checked as an operator would meet it:

  - every file where Debian expects it, no @PLACEHOLDER@ left;
  - the runner helper where Debian's python3 imports it, the shipped runners
    where the kind files' {runners_dir} points, the kind files in
    /etc/renderq/kinds.d, kept when the operator edited them;
  - the nginx site passes `nginx -t` and names the socket and results
    directory that the systemd units and tmpfiles.d create;
  - `systemd-analyze verify` prints nothing for every unit;
  - every service scores an exposure of 2.0 or lower;
  - systemd-sysusers and systemd-tmpfiles, applied to the scratch root, create
    the renderq user and its directories with the intended owners and modes.

Needs: the built binaries, cmake, nginx, openssl, systemd-analyze (else skips).
"""
import json
import os
import shutil
import pathlib
import re
import stat
import subprocess
import sys
import tempfile

import deploy_lib as lib
from deploy_lib import Failure

SKIP = 77


RUNNER_FILES = ("povray/runner.py", "povray/sandbox.py", "python-example/runner.py",
                "python-example/reaction_diffusion.py", "blender/runner.py")


def kinds_layout(binary_dir, prefix):
    """(python dir, kinds dir, runners dir) the installation uses."""
    runners = lib.cache_value(binary_dir, "RENDERQ_RUNNERS_INSTALL_DIR")
    if not runners.startswith("/"):
        runners = prefix + "/" + runners
    return (lib.cache_value(binary_dir, "RENDERQ_PYTHON_DIR"),
            lib.cache_value(binary_dir, "RENDERQ_KINDS_INSTALL_DIR"), runners)


def expected_kind_files(binary_dir, prefix):
    python_dir, kinds_dir, runners_dir = kinds_layout(binary_dir, prefix)
    files = {python_dir + "/renderq_runner.py": "runner helper",
             kinds_dir + "/povray.json": "povray kind",
             kinds_dir + "/python-example.json": "python example kind",
             prefix + "/share/doc/renderq/kinds.d/povray.json": "povray kind as shipped",
             prefix + "/share/doc/renderq/kinds.d/python-example.json": "example kind as shipped",
             prefix + "/share/doc/renderq/examples/kinds.d/blender.json": "Blender kind (disabled)",
             prefix + "/share/doc/renderq/kinds.md": "kinds guide"}
    files.update({runners_dir + "/" + f: "runner" for f in RUNNER_FILES})
    return files


def check_kinds(root, binary_dir, prefix):
    """The helper where Debian's python3 imports it, the kind files' runners
    where {runners_dir} points, a shipped runner starting from the installed
    files alone, and kind files kept across a reinstall."""
    python_dir, kinds_dir, runners_dir = kinds_layout(binary_dir, prefix)
    for rel, what in expected_kind_files(binary_dir, prefix).items():
        if not pathlib.Path(str(root) + rel).is_file():
            raise Failure("not installed: %s (%s)" % (rel, what))
    if pathlib.Path(str(root) + runners_dir + "/python").exists():
        raise Failure("the helper is installed among the runners too")
    found = lib.run(["/usr/bin/python3", "-c", "import sys; print('\\n'.join(sys.path))"])
    if python_dir not in found.stdout.splitlines():
        raise Failure("%s is not on Debian's python3 sys.path" % python_dir)
    for kind_file in pathlib.Path(str(root) + kinds_dir).glob("*.json"):
        for arg in json.loads(kind_file.read_text())["command"]:
            if arg.startswith("{runners_dir}/"):
                target = pathlib.Path(str(root) + runners_dir + arg[len("{runners_dir}"):])
                if not target.is_file():
                    raise Failure("%s runs %s: not installed" % (kind_file.name, target))
    # The example runner from the installed files (the helper from python_dir,
    # none from a checkout) says it is ready.
    scratch = root / "tmp" / "runner-scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    started = subprocess.run(
        ["/usr/bin/python3", str(root) + runners_dir + "/python-example/runner.py"],
        cwd=scratch, input=b"", capture_output=True, timeout=60,
        env=dict(os.environ, PYTHONPATH=str(root) + python_dir, PYTHONDONTWRITEBYTECODE="1"))
    if started.stdout != b'{"ready":true}\n':
        raise Failure("the installed example runner said %r (stderr %r)"
                      % (started.stdout, started.stderr[-500:]))
    # A kind file the operator edited survives a reinstall; a removed one comes back.
    edited = pathlib.Path(str(root) + kinds_dir + "/povray.json")
    edited.write_text(edited.read_text().replace('"estimate_seconds": 10', '"estimate_seconds": 42'))
    removed = pathlib.Path(str(root) + kinds_dir + "/python-example.json")
    removed.unlink()
    lib.install(binary_dir, root)
    if '"estimate_seconds": 42' not in edited.read_text():
        raise Failure("a reinstall overwrote the operator's %s" % edited)
    if not removed.is_file():
        raise Failure("a reinstall did not put back %s" % removed)


def expected_files(prefix, site_dir):
    """Path (relative to the scratch root) -> what it is."""
    files = {
        prefix + "/bin/renderq-fcgi": "FastCGI responder",
        prefix + "/bin/renderq-notify": "webhooks and live events",
        prefix + "/share/doc/renderq/notifications.md": "notifications guide",
        prefix + "/bin/renderq-worker": "render worker",
        prefix + "/bin/renderqctl": "admin tool",
        prefix + "/bin/renderq-render": "scene renderer CLI",
        prefix + "/lib/sysusers.d/renderq.conf": "system user",
        prefix + "/lib/tmpfiles.d/renderq.conf": "directories",
        prefix + "/lib/systemd/system/nginx.service.d/renderq-nchan.conf":
            "nginx drop-in: a killed nginx's publisher socket removed before it starts",
        prefix + "/share/renderq/sql/sqlite/001_initial.sql": "schema",
        prefix + "/share/doc/renderq/deploy.md": "this guide",
        prefix + "/share/doc/renderq/renderq.env.example": "settings example",
        site_dir + "/renderq.conf": "nginx site",
    }
    files.update({prefix + "/lib/systemd/system/" + u: "unit" for u in lib.UNITS})
    return files


def check_layout(root, prefix, site_dir):
    for rel, what in expected_files(prefix, site_dir).items():
        path = pathlib.Path(str(root) + rel)
        if not path.is_file():
            raise Failure("not installed: %s (%s)" % (rel, what))
        if "/bin/" in rel and not os.access(path, os.X_OK):
            raise Failure("not executable: %s" % rel)
    rendered = [pathlib.Path(str(root) + rel) for rel in expected_files(prefix, site_dir)
                if "/bin/" not in rel and not rel.endswith(".sql")]
    lib.check_no_placeholders(rendered)


def unit_setting(unit_file, key):
    found = re.search(r"(?m)^%s=(.*)$" % re.escape(key), pathlib.Path(unit_file).read_text())
    if found is None:
        raise Failure("%s has no %s=" % (unit_file, key))
    return found.group(1).strip()


def site_setting(site, directive):
    found = re.search(r"(?m)^\s*%s\s+([^;]+);" % directive, pathlib.Path(site).read_text())
    if found is None:
        raise Failure("%s has no %s" % (site, directive))
    return found.group(1).strip()


def check_site_matches_units(site, units):
    """nginx and systemd must agree on the socket and the results directory."""
    text = pathlib.Path(site).read_text()
    socket = unit_setting(units / "renderq-fcgi.socket", "ListenStream")
    # The responder's socket, and renderq-notify's hooks.
    hooks = unit_setting(units / "renderq-notify.socket", "ListenStream")
    passes = set(re.findall(r"fastcgi_pass\s+unix:([^;]+);", text))
    if passes != {socket, hooks}:
        raise Failure("site passes to %s, the socket unit listens on %s and renderq-notify on %s"
                      % (passes, socket, hooks))
    results = re.search(r"alias\s+([^;]+?)/?;", text).group(1)
    service_results = re.search(r"RENDERQ_RESULTS=(\S+)",
                                (units / "renderq-worker@.service").read_text()).group(1)
    if results != service_results:
        raise Failure("site serves results from %s, the worker writes them to %s"
                      % (results, service_results))
    return socket, results


def check_tmpfiles_and_sysusers(root, prefix, socket, results):
    """Applies the two entries to the scratch root and checks what they made."""
    for cmd in (["systemd-sysusers", "--root=%s" % root, "renderq.conf"],
                ["systemd-tmpfiles", "--root=%s" % root, "--create", "renderq.conf"]):
        done = lib.run(cmd)
        if done.returncode != 0:
            raise Failure("%s failed:\n%s" % (" ".join(cmd), done.stdout))
    users = {line.split(":")[0]: line.split(":")
             for line in (root / "etc/passwd").read_text().splitlines()}
    groups = {line.split(":")[0]: line.split(":")
              for line in (root / "etc/group").read_text().splitlines()}
    if "renderq" not in users:
        raise Failure("systemd-sysusers did not create the renderq user")
    uid, gid = int(users["renderq"][2]), int(users["renderq"][3])
    if users["renderq"][6] not in ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false"):
        raise Failure("renderq has a login shell: %s" % users["renderq"][6])
    www = int(groups["www-data"][2])
    state = str(pathlib.PurePosixPath(results).parent)
    table = [  # path, mode, owner, group
        (state, 0o710, uid, www),
        (results, 0o2750, uid, www),
        (str(pathlib.PurePosixPath(socket).parent), 0o755, uid, gid),
    ]
    for path, mode, owner, group in table:
        st = os.stat(str(root) + path)
        got = (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
        if got != (mode, owner, group):
            raise Failure("%s: mode/owner/group %s, want %s"
                          % (path, (oct(got[0]), got[1], got[2]), (oct(mode), owner, group)))


def check_postgres_drop_ins(root, prefix):
    """The drop-ins for hosts on a remote PostgreSQL queue (docs/scaling.md),
    installed where an operator puts them: the units still verify cleanly and
    stay within the exposure limit, network and all."""
    docs = pathlib.Path(str(root) + prefix) / "share" / "doc" / "renderq"
    for drop_in, unit, instance in (
            ("renderq-worker-postgres.conf", "renderq-worker@.service", "renderq-worker@0.service"),
            ("renderq-web-postgres.conf", "renderq-fcgi.service", "renderq-fcgi.service"),
            ("renderq-web-postgres.conf", "renderq-purge.service", "renderq-purge.service")):
        example = docs / drop_in
        if not example.exists():
            raise Failure("%s is not installed" % example)
        drop_in_dir = pathlib.Path(root) / "etc" / "systemd" / "system" / (unit + ".d")
        drop_in_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(example, drop_in_dir / "postgres.conf")
        try:
            lib.verify_units(root, [instance])
            score = lib.exposure(root, instance)  # also fails above the limit
            print("ok: %s with %s verifies, exposure %.1f" % (instance, drop_in, score))
        finally:
            shutil.rmtree(drop_in_dir)


def main():
    binary_dir = os.environ.get("RENDERQ_BINARY_DIR")
    if not binary_dir:
        print("RENDERQ_BINARY_DIR is not set (run through ctest)")
        return 2
    missing = lib.missing_tools("cmake", "nginx", "openssl", "systemd-analyze",
                                "systemd-sysusers", "systemd-tmpfiles")
    if missing:
        print("skipped: missing " + ", ".join(missing))
        return SKIP
    with tempfile.TemporaryDirectory(prefix="renderq-deploy-") as scratch:
        scratch = pathlib.Path(scratch)
        root = scratch / "root"
        try:
            prefix = lib.install(binary_dir, root)
            site_dir = lib.cache_value(binary_dir, "RENDERQ_NGINX_SITE_DIR")
            check_layout(root, prefix, site_dir)
            print("ok: layout under %s and %s" % (prefix, site_dir))
            check_kinds(root, binary_dir, prefix)
            print("ok: runner helper, runners and kind files (kept across a reinstall)")

            units = lib.unit_dir(root, prefix)
            site = pathlib.Path(str(root) + site_dir) / "renderq.conf"
            socket, results = check_site_matches_units(site, units)
            print("ok: site and units agree on %s and %s" % (socket, results))
            # On the default port the redirect's Location carries no port.
            assert "return 301 https://$host$request_uri;" in site.read_text()

            lib.make_host_like(root)
            cert = site_setting(site, "ssl_certificate")
            key = site_setting(site, "ssl_certificate_key")
            lib.self_signed_cert(str(root) + cert, str(root) + key)
            lib.nginx_test([site], root, scratch)
            print("ok: nginx -t")

            lib.verify_units(root, [u.replace("@.", "@0.") for u in lib.UNITS] +
                             ["renderq-worker@cpu.service"])
            print("ok: systemd-analyze verify printed nothing")
            for service in lib.SERVICES:
                print("ok: %s exposure %.1f" % (service, lib.exposure(root, service)))
            check_postgres_drop_ins(root, prefix)

            if os.geteuid() == 0:
                check_tmpfiles_and_sysusers(root, prefix, socket, results)
                print("ok: sysusers.d and tmpfiles.d")
            else:
                print("note: not root, sysusers.d/tmpfiles.d ownership not checked")
        except Failure as e:
            print("FAIL: %s" % e)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
