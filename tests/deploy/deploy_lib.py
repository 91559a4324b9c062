"""Shared steps of the deployment tests: install the build into a scratch root
(DESTDIR), make that root look enough like a Debian host for systemd-analyze,
systemd-sysusers and systemd-tmpfiles to work on it with --root, and check the
installed nginx site with `nginx -t`.

Every check raises Failure with a message naming what is wrong.
"""
import os
import pathlib
import re
import shutil
import subprocess

UNITS = ("renderq-fcgi.socket", "renderq-fcgi.service", "renderq-notify.socket",
         "renderq-notify.service", "renderq-worker@.service", "renderq-purge.service",
         "renderq-purge.timer")
# The services scored by `systemd-analyze security` (templates need an instance).
SERVICES = ("renderq-fcgi.service", "renderq-notify.service", "renderq-worker@0.service",
            "renderq-worker@cpu.service", "renderq-purge.service")
MAX_EXPOSURE = 2.0
PLACEHOLDER = re.compile(r"@[A-Z][A-Z0-9_]*@")
EXPOSURE = re.compile(r"Overall exposure level for \S+: (\d+\.\d+)")


class Failure(Exception):
    pass


def run(cmd, **kwargs):
    """Runs cmd; returns the CompletedProcess with stdout and stderr merged."""
    return subprocess.run([str(c) for c in cmd], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=120, **kwargs)


def missing_tools(*tools):
    return [t for t in tools if shutil.which(t) is None]


def cache_value(binary_dir, name):
    """A value from the build's CMakeCache.txt (None when absent)."""
    for line in (pathlib.Path(binary_dir) / "CMakeCache.txt").read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and key.split(":")[0] == name:
            return value
    return None


def install(binary_dir, root):
    """`cmake --install` of the build with DESTDIR=root; returns the prefix used."""
    env = dict(os.environ, DESTDIR=str(root))
    done = run(["cmake", "--install", binary_dir], env=env)
    if done.returncode != 0:
        raise Failure("cmake --install failed:\n" + done.stdout)
    return cache_value(binary_dir, "CMAKE_INSTALL_PREFIX")


def make_host_like(root):
    """Gives root what a Debian host has and the tools need: systemd's own units
    (verify resolves sysinit.target and friends under --root), /lib as on a
    merged-/usr system, the host's users and groups (www-data), nginx's dirs."""
    root = pathlib.Path(root)
    system = root / "usr/lib/systemd/system"
    system.mkdir(parents=True, exist_ok=True)
    for item in pathlib.Path("/usr/lib/systemd/system").iterdir():
        target = system / item.name
        if target.exists() or target.is_symlink():
            continue  # with prefix /usr, our own units live here too
        if item.is_symlink():
            os.symlink(os.readlink(item), target)
        elif item.is_dir():
            shutil.copytree(item, target, symlinks=True)
        else:
            shutil.copy2(item, target)
    if not (root / "lib").exists():
        os.symlink("usr/lib", root / "lib")
    (root / "etc").mkdir(exist_ok=True)
    for name in ("passwd", "group"):
        if not (root / "etc" / name).exists():
            shutil.copy2("/etc/" + name, root / "etc" / name)
    for d in ("etc/nginx/sites-enabled", "etc/ssl/certs", "etc/ssl/private",
              "etc/modules-load.d", "var/log/nginx", "var/backups"):
        (root / d).mkdir(parents=True, exist_ok=True)


def unit_dir(root, prefix):
    return pathlib.Path(str(root) + prefix) / "lib/systemd/system"


def check_no_placeholders(paths):
    for path in paths:
        left = PLACEHOLDER.findall(pathlib.Path(path).read_text())
        if left:
            raise Failure("%s: placeholders left unrendered: %s" % (path, ", ".join(left)))


def verify_units(root, names):
    """`systemd-analyze verify` prints nothing for each unit (it exits 0 on
    unknown keys, so any output at all is a failure)."""
    for name in names:
        done = run(["systemd-analyze", "verify", "--root=%s" % root, name])
        if done.returncode != 0 or done.stdout.strip():
            raise Failure("systemd-analyze verify %s (exit %d):\n%s"
                          % (name, done.returncode, done.stdout))


def exposure(root, name):
    """The exposure score of one service; Failure above MAX_EXPOSURE."""
    done = run(["systemd-analyze", "security", "--offline=true", "--threshold=20",
                "--root=%s" % root, name])
    found = EXPOSURE.search(done.stdout)
    if found is None:
        raise Failure("systemd-analyze security %s printed no score:\n%s" % (name, done.stdout))
    score = float(found.group(1))
    if done.returncode != 0 or score > MAX_EXPOSURE:
        raise Failure("%s: exposure %.1f (limit %.1f), exit %d:\n%s"
                      % (name, score, MAX_EXPOSURE, done.returncode, done.stdout))
    return score


def self_signed_cert(cert, key):
    done = run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                "-keyout", key, "-out", cert])
    if done.returncode != 0:
        raise Failure("openssl req failed:\n" + done.stdout)


def nginx_test(sites, root, scratch):
    """`nginx -t` on a minimal nginx.conf that loads Debian's enabled modules and
    includes each site the way Debian's nginx.conf includes sites-enabled/*
    (inside http{}). Absolute paths
    of the production layout (certificates, logs) are looked up under root, so
    the check needs no file outside the scratch directory."""
    scratch = pathlib.Path(scratch)
    conf_dir = scratch / "nginx"
    (conf_dir / "tmp").mkdir(parents=True, exist_ok=True)
    includes = []
    for i, site in enumerate(sites):
        text = pathlib.Path(site).read_text()
        # Only the host-specific files move; /etc/nginx/fastcgi_params and the
        # socket path stay as in production (nginx -t does not connect).
        text = re.sub(r"(?m)^(\s*(?:ssl_certificate|ssl_certificate_key|access_log|error_log)\s+)/",
                      lambda m: m.group(1) + str(root) + "/", text)
        # nginx -t binds unix listen sockets (the live events' publisher):
        # into the scratch directory with them.
        text = re.sub(r"(?m)^(\s*listen\s+unix:)/[^;]*/([^/;]+);",
                      lambda m: "%s%s/%s;" % (m.group(1), conf_dir, m.group(2)), text)
        copy = conf_dir / ("site%d.conf" % i)
        copy.write_text(text)
        includes.append("    include %s;" % copy)
    temp = "\n".join("    %s_temp_path %s/tmp/%s;" % (t, conf_dir, t)
                     for t in ("client_body", "fastcgi", "proxy", "uwsgi", "scgi"))
    conf = conf_dir / "nginx.conf"
    # Debian's nginx.conf loads the packaged modules first (the site needs nchan).
    conf.write_text("load_module /usr/lib/nginx/modules/ngx_nchan_module.so;\n"
                    "pid %s/nginx.pid;\nerror_log %s/error.log;\nevents {}\nhttp {\n"
                    "    include /etc/nginx/mime.types;\n%s\n%s\n}\n"
                    % (conf_dir, conf_dir, temp, "\n".join(includes)))
    done = run(["nginx", "-t", "-p", conf_dir, "-c", conf, "-e", conf_dir / "error.log"])
    if done.returncode != 0:
        raise Failure("nginx -t failed:\n" + done.stdout)
