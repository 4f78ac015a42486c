"""Issue 12 §2.11: `verify --offline` sends no request: a remote resource reached through a local
base, or written in capitals (`HTTP://`), is never fetched by kubectl."""

from __future__ import annotations

import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.verify.helpers import verify

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")

_CM = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fetched\ndata:\n  a: b\n"


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/yaml")
            self.end_headers()
            self.wfile.write(_CM)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        yield f"127.0.0.1:{httpd.server_address[1]}", hits
    finally:
        httpd.shutdown()


def _write(root: Path, rel: str, text: str) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)


def test_offline_verify_fetches_nothing(tmp_path: Path, server: tuple[str, list[str]]) -> None:
    host, hits = server
    root = tmp_path / "tree"
    # A base with a remote resource, included by an overlay that has none of its own.
    _write(root, "base/kustomization.yaml", f"resources:\n  - http://{host}/base.yaml\n")
    _write(root, "overlay/kustomization.yaml", "resources:\n  - ../base\n")
    # Two levels deep, through a component.
    _write(root, "deep/kustomization.yaml", "components:\n  - ../comp\n")
    _write(root, "comp/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1alpha1\n"
                                            "kind: Component\nresources:\n  - ../base\n")
    # The scheme in capitals.
    _write(root, "caps/kustomization.yaml", f"resources:\n  - HTTP://{host}/caps.yaml\n")
    # And a local one that builds.
    _write(root, "local/kustomization.yaml", "resources:\n  - cm.yaml\n")
    _write(root, "local/cm.yaml", _CM.decode())
    r = verify(root, "--offline", "--check", "build")
    assert hits == [], f"verify --offline sent requests: {hits}"
    build = r.check("build")
    assert build["status"] == "pass", build
    # What was not built is said, not hidden.
    for d in ("base", "overlay", "deep", "caps"):
        assert d in build["summary"], build["summary"]
