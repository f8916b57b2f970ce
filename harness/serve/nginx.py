"""A real nginx in front of a scenario's API, in the variants the guide's deployment section
describes. One nginx process per run serves every proxied scenario on its own loopback port.

Variants ([server] proxy = ...):
- pass:             proxy_pass only, with the guide's proxy_set_header lines
- add-allow-origin: also `add_header Access-Control-Allow-Origin '*'` (a second ACAO header)
- strip:            proxy_hide_header for every Access-Control-* response header
- answer-options:   the guide's commented block: nginx adds CORS headers itself and answers
                    OPTIONS with 204 (whose add_header set, inside `if`, replaces the outer one)
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

from xprocess import ProcessStarter

from ..scenario.origins import API_EXTRA_HOSTS
from ..scenario.proxy import GUIDE_HEADERS, GUIDE_OPTIONS_HEADERS, HIDDEN, VARIANTS
from .servers import answers
from .sockets import bind_api_sockets

NGINX = "/usr/sbin/nginx"


def location(variant: str, backend_port: int) -> str:
    """The `location /` body for one variant."""
    lines = [
        f"proxy_pass http://127.0.0.1:{backend_port};",
        "proxy_set_header Host $host;",
        "proxy_set_header X-Real-IP $remote_addr;",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
    ]
    if variant == "add-allow-origin":
        lines.append("add_header 'Access-Control-Allow-Origin' '*';")
    elif variant == "strip":
        lines += [f"proxy_hide_header {name};" for name in HIDDEN]
    elif variant == "answer-options":
        lines += [f"add_header '{k}' '{v}';" for k, v in GUIDE_HEADERS.items()]
        inner = [f"add_header '{k}' '{v}';" for k, v in GUIDE_OPTIONS_HEADERS.items()]
        lines += ["if ($request_method = 'OPTIONS') {", *inner, "return 204;", "}"]
    elif variant != "pass":
        raise ValueError(f"unknown proxy variant {variant!r}; choose from {', '.join(VARIANTS)}")
    return "\n      ".join(lines)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_api_port() -> int:
    """A port free on every address an API listens on: nginx stands in for one ({api_third}...)."""
    sockets = bind_api_sockets()
    port = sockets[0].getsockname()[1]
    for sock in sockets:
        sock.close()
    return port


def write_config(workdir: Path, routes: dict[int, tuple[str, int]]) -> Path:
    """routes: listen port -> (variant, backend port). Returns the config path."""
    for sub in ("logs", "tmp"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    servers = "\n".join(
        f"  server {{\n    listen 127.0.0.1:{port};\n"
        + "".join(f"    listen {address}:{port};\n" for address in API_EXTRA_HOSTS)
        + f"    location / {{\n      {location(variant, backend)}\n    }}\n  }}"
        for port, (variant, backend) in routes.items()
    )
    tmp = workdir / "tmp"
    conf = f"""daemon off;
master_process off;
pid {workdir}/nginx.pid;
error_log {workdir}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/fcgi;
  uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
{servers}
}}
"""
    path = workdir / "nginx.conf"
    path.write_text(conf)
    return path


def available() -> str | None:
    """None when nginx can run here, else the reason and the fix."""
    if not Path(NGINX).is_file() and not shutil.which("nginx"):
        return "nginx not found; apt-get install nginx-light"
    return None


def make_starter(workdir: Path, conf: Path, ports: list[int]) -> type[ProcessStarter]:
    class NginxStarter(ProcessStarter):
        args = [NGINX, "-p", str(workdir), "-c", str(conf), "-e", str(workdir / "logs/error.log")]
        timeout = 15
        terminate_on_interrupt = True

        def startup_check(self) -> bool:
            return all(answers(f"http://127.0.0.1:{port}/headers") for port in ports)

    return NginxStarter
