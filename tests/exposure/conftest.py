from __future__ import annotations

from pathlib import Path

import pytest

from .gitrepo import Repo

TOKEN = "123456:Bx-7kQ9vLmN2pR5sT8uW0yZ1bC4dE6fG7a"
CHAT = "-1003078665133"
TAILNET = "tail876052"
AWS = "AKIAZ3MPLQ4XWB7RTY2K"
VALUES = (TOKEN, CHAT, TAILNET, AWS)


def deployment(token_env: str) -> str:
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: bot
spec:
  template:
    spec:
      containers:
        - name: bot
          image: ghcr.io/example/bot:1.0.0
          env:
{token_env}            - name: TELEGRAM_CHAT_ID
              value: "{CHAT}"
"""


LITERAL = f"""\
            - name: TELEGRAM_BOT_TOKEN
              value: "{TOKEN}"
"""
REFERENCE = """\
            - name: TELEGRAM_BOT_TOKEN
              valueFrom:
                secretKeyRef:
                  name: bot-doppler
                  key: TELEGRAM_BOT_TOKEN
"""
EXTERNAL_SECRET = """\
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: bot-doppler
spec:
  secretStoreRef:
    kind: ClusterSecretStore
    name: doppler-prd
  target:
    name: bot-doppler
  data:
    - secretKey: TELEGRAM_BOT_TOKEN
      remoteRef:
        key: TELEGRAM_BOT_TOKEN
---
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata:
  name: doppler-prd
spec:
  provider:
    doppler:
      project: app
      config: prd
      auth:
        secretRef:
          dopplerToken:
            name: doppler-token
            key: token
            namespace: external-secrets
"""


class History:
    """main: c1 adds a bot token and chat id (deployment) and a tailnet (values); c2 touches
    only a README; c3 moves the token to Doppler (an ExternalSecret reference); feature
    (from c3): c4 adds an AWS key, c5 removes it; main: c6 removes the tailnet."""

    def __init__(self, root: Path) -> None:
        r = self.repo = Repo(root)
        self.c1 = r.commit({"apps/bot/deployment.yaml": deployment(LITERAL),
                            "apps/values.yaml": f"tailscale:\n  tailnet: {TAILNET}\n"}, "add bot")
        self.c2 = r.commit({"README.md": "bot\n"}, "docs")
        self.c3 = r.commit({"apps/bot/deployment.yaml": deployment(REFERENCE),
                            "apps/bot/externalsecret.yaml": EXTERNAL_SECRET}, "token to Doppler")
        r.git("checkout", "-q", "-b", "feature")
        self.c4 = r.commit({"infra/aws.yaml": f"aws:\n  aws_access_key_id: {AWS}\n"}, "aws")
        self.c5 = r.commit({"infra/aws.yaml": None}, "oops, remove")
        r.git("checkout", "-q", "main")
        self.c6 = r.commit({"apps/values.yaml": "tailscale:\n  enabled: true\n"}, "no tailnet")


@pytest.fixture
def history(tmp_path: Path) -> History:
    return History(tmp_path / "repo")
