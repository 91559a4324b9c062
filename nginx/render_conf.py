#!/usr/bin/env python3
"""Renders renderq's nginx templates (@NAME@ placeholders, CMake @ONLY syntax).

  render_conf.py site TEMPLATE OUT NAME=VALUE...   one template, every placeholder given
  render_conf.py dev STATE_DIR [options]           a runnable unprivileged nginx setup:
      STATE_DIR/nginx.conf (from nginx-dev.conf.in) including STATE_DIR/renderq.conf
      (from renderq.conf.in), with STATE_DIR/tmp and STATE_DIR/log created.
      Start it with: nginx -p STATE_DIR -c STATE_DIR/nginx.conf

Used by scripts/run, tests/e2e and bench/submit, so all of them run the very
site the installation ships. A placeholder left without a value, or a value for
a placeholder the template does not have, is an error: a typo must not produce a
config that silently differs.
"""
import argparse
import grp
import os
import pathlib
import pwd
import re
import sys

HERE = pathlib.Path(__file__).resolve().parent
# The console's files and the example scenes it offers, as the checkout has them.
WEB_ROOT = HERE.parent / "web"
EXAMPLES_DIR = HERE.parent / "examples"
PLACEHOLDER = re.compile(r"@([A-Z][A-Z0-9_]*)@")


class RenderError(Exception):
    pass


def render(template_text, values):
    """Returns template_text with every @NAME@ replaced; raises RenderError."""
    names = set(PLACEHOLDER.findall(template_text))
    missing = sorted(names - values.keys())
    unused = sorted(values.keys() - names)
    if missing:
        raise RenderError("no value for " + ", ".join("@%s@" % n for n in missing))
    if unused:
        raise RenderError("template has no " + ", ".join("@%s@" % n for n in unused))
    return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), template_text)


def with_derived(values):
    """values plus what the site template derives from them: HTTPS_PORT_SUFFIX,
    the ":port" of the redirect's Location, empty for the default port 443 so
    that the installed site redirects to https://host/... ."""
    if "HTTPS_PORT" not in values:
        return values
    port = int(values["HTTPS_PORT"])
    return dict(values, HTTPS_PORT_SUFFIX="" if port == 443 else ":%d" % port)


def render_file(template, out, values):
    text = render(pathlib.Path(template).read_text(), with_derived(values))
    out = pathlib.Path(out)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, out)


def render_dev(state_dir, *, https_port, http_port, cert, key, socket, results,
               listen="127.0.0.1", server_name="localhost", submit_rate="50r/s",
               submit_burst=100, worker_processes=1, web_root=WEB_ROOT,
               examples_dir=EXAMPLES_DIR, nchan_socket=None, notify_socket=None):
    """Writes a runnable nginx setup under state_dir; returns the nginx.conf path.
    The live events' sockets default to state_dir/nchan.sock (nginx listens)
    and state_dir/notify.sock (renderq-notify listens)."""
    state = pathlib.Path(state_dir).resolve()
    for sub in ("tmp", "log"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    site = state / "renderq.conf"
    render_file(HERE / "renderq.conf.in", site, {
        "LISTEN_ADDR": listen, "HTTPS_PORT": https_port, "HTTP_PORT": http_port,
        "SERVER_NAME": server_name, "TLS_CERT": pathlib.Path(cert).resolve(),
        "TLS_KEY": pathlib.Path(key).resolve(), "FCGI_SOCKET": pathlib.Path(socket).resolve(),
        "RESULTS_DIR": pathlib.Path(results).resolve(),
        "ACCESS_LOG": state / "log" / "access.log", "ERROR_LOG": state / "log" / "error.log",
        "SUBMIT_RATE": submit_rate, "SUBMIT_BURST": submit_burst,
        "WEB_ROOT": pathlib.Path(web_root).resolve(),
        "EXAMPLES_DIR": pathlib.Path(examples_dir).resolve(),
        "NCHAN_SOCKET": pathlib.Path(nchan_socket or state / "nchan.sock").resolve(),
        "NOTIFY_SOCKET": pathlib.Path(notify_socket or state / "notify.sock").resolve(),
    })
    main_conf = state / "nginx.conf"
    render_file(HERE / "nginx-dev.conf.in", main_conf, {
        "STATE_DIR": state, "SITE_CONF": site, "WORKER_PROCESSES": worker_processes,
        "NGINX_USER": "%s %s" % (pwd.getpwuid(os.getuid()).pw_name,
                                 grp.getgrgid(os.getgid()).gr_name),
    })
    return main_conf


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    site = sub.add_parser("site", help="render one template")
    site.add_argument("template")
    site.add_argument("out")
    site.add_argument("values", nargs="*", metavar="NAME=VALUE")
    dev = sub.add_parser("dev", help="render a runnable unprivileged nginx setup")
    dev.add_argument("state_dir")
    dev.add_argument("--listen", default="127.0.0.1")
    dev.add_argument("--https-port", type=int, required=True)
    dev.add_argument("--http-port", type=int, required=True)
    dev.add_argument("--cert", required=True)
    dev.add_argument("--key", required=True)
    dev.add_argument("--socket", required=True)
    dev.add_argument("--results", required=True)
    dev.add_argument("--submit-rate", default="50r/s")
    dev.add_argument("--submit-burst", type=int, default=100)
    dev.add_argument("--worker-processes", default="1")
    dev.add_argument("--web-root", default=str(WEB_ROOT))
    dev.add_argument("--examples-dir", default=str(EXAMPLES_DIR))
    dev.add_argument("--nchan-socket", help="where nginx takes renderq-notify's publishes")
    dev.add_argument("--notify-socket", help="renderq-notify's hook socket")
    args = parser.parse_args(argv)
    try:
        if args.command == "site":
            values = {}
            for item in args.values:
                name, sep, value = item.partition("=")
                if not sep:
                    parser.error("expected NAME=VALUE, got %r" % item)
                values[name] = value
            render_file(args.template, args.out, values)
        else:
            print(render_dev(args.state_dir, listen=args.listen, https_port=args.https_port,
                             http_port=args.http_port, cert=args.cert, key=args.key,
                             socket=args.socket, results=args.results,
                             submit_rate=args.submit_rate, submit_burst=args.submit_burst,
                             worker_processes=args.worker_processes,
                             web_root=args.web_root, examples_dir=args.examples_dir,
                             nchan_socket=args.nchan_socket, notify_socket=args.notify_socket))
    except (RenderError, OSError) as e:
        print("render_conf: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
