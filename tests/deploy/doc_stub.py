#!/usr/bin/env python3
"""Stand-ins for the host commands that docs/deploy.md uses and this machine
cannot run for real (no systemd as PID 1, no network, no renderq account on the
host). test_deploy_doc.py links this file under each command's name; it logs
every call to $DOC_LOG (one JSON list per line) and then:

  apt-get, systemctl, journalctl, curl   only logged (checked afterwards)
  cmake --install build                   installs the test's build into $DOC_ROOT
  cmake (configure), cmake --build        logged; configure's -D names must exist
  nginx -t                                nginx -t on the sites enabled in $DOC_ROOT
  systemd-sysusers, systemd-tmpfiles      the real ones, with --root=$DOC_ROOT
  runuser -u USER -- CMD                  CMD as the invoking user
  install -o U -g G ...                   the real install, without -o/-g
"""
import json
import os
import pathlib
import shutil
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import deploy_lib as lib  # noqa: E402

ROOT = pathlib.Path(os.environ["DOC_ROOT"])


def real(name):
    found = shutil.which(name, path=os.environ["DOC_REAL_PATH"])
    if found is None:
        sys.exit("doc_stub: no real %s" % name)
    return found


def exec_real(name, args):
    os.execv(real(name), [name] + args)


def use_real_tools():
    """The helpers below run cmake and nginx themselves: not these stand-ins."""
    os.environ["PATH"] = os.environ["DOC_REAL_PATH"]


def cmake(args):
    use_real_tools()
    if args[:1] == ["--install"]:
        lib.install(os.environ["RENDERQ_BINARY_DIR"], ROOT)
    elif args[:1] != ["--build"]:
        for arg in args:
            if arg.startswith("-D"):
                name = arg[2:].split("=")[0].split(":")[0]
                if lib.cache_value(os.environ["RENDERQ_BINARY_DIR"], name) is None:
                    sys.exit("doc_stub: cmake -D%s is not a cache variable of this build" % name)


def nginx(args):
    if args != ["-t"]:
        return
    use_real_tools()
    sites = sorted((ROOT / "etc/nginx/sites-enabled").iterdir())
    lib.nginx_test([s.resolve() for s in sites], ROOT, ROOT.parent / "doc-nginx")
    print("nginx: configuration test of %d site(s) is successful" % len(sites))


def runuser(args):
    if len(args) < 4 or args[0] != "-u" or args[2] != "--":
        sys.exit("doc_stub: expected runuser -u USER -- CMD, got %s" % args)
    cmd = args[3:]
    os.execvp(cmd[0], cmd)


def install(args):
    kept, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg in ("-o", "-g"):
            skip = True
        else:
            kept.append(arg)
    exec_real("install", kept)


def main():
    name = pathlib.Path(sys.argv[0]).name
    args = sys.argv[1:]
    with open(os.environ["DOC_LOG"], "a") as log:
        log.write(json.dumps([name] + args) + "\n")
    try:
        if name == "cmake":
            cmake(args)
        elif name == "nginx":
            nginx(args)
        elif name == "runuser":
            runuser(args)
        elif name == "install":
            install(args)
        elif name in ("systemd-sysusers", "systemd-tmpfiles"):
            exec_real(name, ["--root=%s" % ROOT] + args)
    except lib.Failure as e:
        sys.exit("doc_stub: %s" % e)
    return 0


if __name__ == "__main__":
    sys.exit(main())
