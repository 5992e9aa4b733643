"""nginx with one process as the ceiling of the web rows; run by the web rows' worker.

    python web_nginx.py PORT DIR ROOT

Writes ``DIR/nginx.conf`` (everything nginx writes stays in DIR: pid, temp paths; errors go to
stderr, no access log) and execs nginx in the foreground with ``master_process off``: a single
process that is its own (one) worker, so the harness pins and measures that one pid. It answers
``GET /`` with the 13-byte ``Hello, world!`` and serves every other path from ROOT (sendfile
on), on 127.0.0.1:PORT. Exit status 3: nginx is not installed (Debian package nginx-light).
"""

from __future__ import annotations

import os
import shutil
import sys

CONFIG = """\
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    server {{
        listen 127.0.0.1:{port} backlog=511;
        root {root};
        location = / {{
            default_type text/plain;
            return 200 "Hello, world!";
        }}
    }}
}}
"""


def main() -> None:
    port, directory, root = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    nginx = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if nginx is None:
        print("unavailable: nginx is not installed (Debian package nginx-light)", file=sys.stderr)
        sys.exit(3)
    conf = os.path.join(directory, "nginx.conf")
    with open(conf, "w") as f:
        f.write(CONFIG.format(dir=directory, port=port, root=root))
    sys.stderr.flush()
    # -e: the error log before the configuration is read goes to stderr too (not /var/log).
    os.execv(nginx, [nginx, "-e", "stderr", "-p", directory, "-c", conf])


if __name__ == "__main__":
    main()
