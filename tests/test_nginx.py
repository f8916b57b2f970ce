"""nginx variants: every generated config is valid for the real nginx, and the oracle's model of
each variant follows nginx's documented add_header rules."""

import subprocess

import pytest

from cors_matrix import nginx
from cors_matrix.oracle import proxied
from cors_matrix.starlette_model import ServerAnswer

UPSTREAM = ServerAnswer(200, {"access-control-allow-origin": ["http://a.test"],
                              "access-control-allow-credentials": ["true"]})  # fmt: skip


@pytest.mark.skipif(nginx.available() is not None, reason="nginx not installed")
def test_every_variant_config_passes_nginx_t(tmp_path):
    routes = {18000 + i: (variant, 9000) for i, variant in enumerate(nginx.VARIANTS)}
    conf = nginx.write_config(tmp_path, routes)
    check = subprocess.run([nginx.NGINX, "-t", "-p", str(tmp_path), "-c", str(conf),
                            "-e", str(tmp_path / "logs/error.log")],
                           capture_output=True, text=True)  # fmt: skip
    assert check.returncode == 0, check.stderr


def test_pass_keeps_upstream_headers():
    assert proxied("pass", UPSTREAM).get("access-control-allow-origin") == "http://a.test"


def test_add_allow_origin_duplicates_on_2xx_only():
    assert (
        proxied("add-allow-origin", UPSTREAM).get("access-control-allow-origin")
        == "http://a.test, *"
    )
    not_found = ServerAnswer(404, {"access-control-allow-origin": ["http://a.test"]})
    assert (
        proxied("add-allow-origin", not_found).get("access-control-allow-origin") == "http://a.test"
    )


def test_strip_hides_every_cors_header():
    stripped = proxied("strip", UPSTREAM)
    assert not any(name.startswith("access-control-") for name in stripped.headers)
