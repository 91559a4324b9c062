#!/usr/bin/env python3
"""The site template renders only with every placeholder given, and what it
renders is a config nginx accepts (nginx -t), with the directives SPEC asks for."""
import pathlib
import shutil
import subprocess
import sys
import tempfile

import stack
import render_conf

REQUIRED = [
    "ssl_protocols TLSv1.2 TLSv1.3;",
    "client_max_body_size 4m;",
    "limit_req zone=renderq_submit",
    "internal;",
    "allow 127.0.0.1;",
    "deny all;",
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "Content-Security-Policy",
    "include /etc/nginx/fastcgi_params;",
    "return 301 https://",
]


def main():
    if shutil.which("nginx") is None:
        print("skipped: nginx not installed")
        return stack.SKIP
    template = (stack.SOURCE_DIR / "nginx" / "renderq.conf.in").read_text()
    for values, why in (({}, "no values"), ({"NOT_IN_TEMPLATE": "x"}, "unknown value")):
        try:
            render_conf.render(template, values)
        except render_conf.RenderError:
            pass
        else:
            raise AssertionError("rendered with %s" % why)
    d = pathlib.Path(tempfile.mkdtemp(prefix="renderq-nginx-"))
    try:
        cert, key = stack.make_certificate(d)
        conf = render_conf.render_dev(d / "nginx", https_port=stack.free_port(),
                                      http_port=stack.free_port(), cert=cert, key=key,
                                      socket=d / "fcgi.sock", results=d / "results")
        site = (d / "nginx" / "renderq.conf").read_text()
        assert render_conf.PLACEHOLDER.search(site) is None, "placeholder left"
        for needle in REQUIRED:
            assert needle in site, "site lacks %r" % needle
        assert "fastcgi_keep_conn on" not in site
        proc = subprocess.run(["nginx", "-t", "-p", str(d / "nginx"), "-c", str(conf),
                               "-e", "stderr"], capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, proc.stderr
    finally:
        shutil.rmtree(d, ignore_errors=True)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
