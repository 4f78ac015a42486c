"""`python -m secretsync.testing`: serve a Doppler-compatible API until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
import threading

from secretsync.testing.server import DopplerTestServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m secretsync.testing",
        description="Serve a Doppler-compatible API on 127.0.0.1 for testing pipelines.",
    )
    parser.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    parser.add_argument(
        "--project",
        action="append",
        default=None,
        help="project to create with configs dev, stg, prd (repeatable; default: example)",
    )
    args = parser.parse_args(argv)
    srv = DopplerTestServer(port=args.port)
    for project in args.project or ["example"]:
        srv.add_project(project)
    token = srv.issue_token("personal")
    srv.start()
    # A throwaway token for a throwaway server: printing it is the point.
    print(f"DOPPLER_API_HOST={srv.url}")
    print(f"DOPPLER_TOKEN={token}")
    sys.stdout.flush()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
