"""Rotate or not: every detector id the scanner knows, classified.

A credential (a token, a client secret, a password, a private key, tunnel credentials) read from
public history lets anyone act as its owner until it is revoked: rotate it, then store the new
value in Doppler. An identifier (a tailnet, an account id, a tunnel id, an Auth0 domain or client
id, a chat id) says whose account it is, which helps an attacker aim, but grants nothing on its
own and cannot usefully be changed: the exposure is noted, nothing is rotated.

tests/exposure/test_rotation.py fails when a detector id is missing here, so a new detector
cannot be shipped unclassified.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    CREDENTIAL = "credential"
    IDENTIFIER = "identifier"


@dataclass(frozen=True, slots=True)
class Rotation:
    kind: Kind
    provider: str
    step: str
    """For a credential: how to revoke it and get a new one. For an identifier: why it is not
    rotated."""

    @property
    def rotate(self) -> bool:
        return self.kind is Kind.CREDENTIAL


def _cred(provider: str, step: str) -> Rotation:
    return Rotation(Kind.CREDENTIAL, provider, step)


def _ident(provider: str, why: str) -> Rotation:
    return Rotation(Kind.IDENTIFIER, provider, why)


_TS_KEYS = "Tailscale admin console > Settings > Keys"
_GENERIC = ("revoke it where it was issued, issue a new one, and update every consumer "
            "(the old one stays readable in git history forever)")

ROTATION: dict[str, Rotation] = {
    # Tailscale
    "tailscale-api-key": _cred("Tailscale", f"{_TS_KEYS}: revoke the API access token, "
                               "generate a new one"),
    "tailscale-auth-key": _cred("Tailscale", f"{_TS_KEYS}: revoke the auth key, generate a new "
                                "one (devices that already joined stay joined)"),
    "tailscale-oauth-client-secret": _cred(
        "Tailscale", "Tailscale admin console > Settings > OAuth clients: revoke the client and "
        "generate a new one with the same scopes and tags (this gives a new client id too: "
        "store both)"),
    "tailscale-scim-key": _cred("Tailscale", "Tailscale admin console > Settings > User "
                                "management: regenerate the SCIM API key in the identity "
                                "provider's provisioning settings"),
    "tailscale-webhook-key": _cred("Tailscale", "Tailscale admin console > Settings > Webhooks:"
                                   " rotate the endpoint's secret and update the receiver"),
    "tailscale-oauth-client-id": _ident("Tailscale", "an OAuth client's id grants nothing "
                                        "without its secret"),
    "tailscale-tailnet": _ident("Tailscale", "names the tailnet; grants no access"),
    # Auth0
    "auth0-client-secret": _cred(
        "Auth0", "Auth0 Dashboard > Applications > the application > Credentials: Rotate "
        "secret (Management API: POST /api/v2/clients/{client_id}/rotate-secret); the old "
        "secret stops working at once"),
    "auth0-domain": _ident("Auth0", "the tenant's public login domain"),
    "auth0-client-id": _ident("Auth0", "public in every login redirect; grants nothing alone"),
    # Cloudflare
    "cloudflare-tunnel-token": _cred(
        "Cloudflare", "Cloudflare dashboard > Networking > Tunnels > the tunnel: Rotate token "
        "(new connections need the new token; restart every cloudflared replica with it)"),
    "cloudflare-tunnel-credentials": _cred(
        "Cloudflare", "the credentials file's TunnelSecret runs the tunnel: rotate the tunnel's "
        "token in Cloudflare dashboard > Networking > Tunnels (or delete the tunnel and "
        "`cloudflared tunnel create` a new one), then replace the credentials file"),
    "cloudflare-api-token": _cred("Cloudflare", "Cloudflare dashboard > My Profile > API Tokens:"
                                  " Roll the token (or delete it and create one with the same "
                                  "permissions)"),
    "cloudflare-account-id": _ident("Cloudflare", "in every dashboard URL; grants no access"),
    "cloudflare-tunnel-id": _ident("Cloudflare", "a public DNS target (<id>.cfargotunnel.com); "
                                   "running the tunnel needs its token"),
    "cloudflare-r2-endpoint": _ident("Cloudflare", "the account's R2 endpoint URL; the access "
                                     "keys are what grant access"),
    # Telegram
    "telegram-bot-token": _cred("Telegram", "message @BotFather: /revoke, choose the bot; the "
                                "old token stops working and BotFather sends the new one"),
    "telegram-chat-id": _ident("Telegram", "posting to a chat needs a bot token; the id alone "
                               "grants nothing"),
    # Generic (detect-secrets built-ins and secretsync's own)
    "generic-secret": _cred("generic", "change the password or secret at the service that "
                            "checks it, then store the new one"),
    "password-hash": _cred("generic", "change the password: a crypt hash from public history "
                           "falls to an offline guess"),
    "basic-auth-url": _cred("generic", "change the password in the URL at the service that "
                            "checks it"),
    "aws-access-key": _cred(
        "AWS", "IAM > the user > Security credentials: create a new access key, deploy it, "
        "then deactivate and delete the exposed one (aws iam create-access-key, "
        "update-access-key --status Inactive, delete-access-key)"),
    "private-key": _cred("generic", "generate a new key pair, replace the public key or "
                         "certificate wherever it is trusted (authorized_keys, deploy keys, the "
                         "CA), and revoke the old certificate"),
    "private-key-base64": _cred("generic", "generate a new key pair, replace the public key or "
                                "certificate wherever it is trusted, and revoke the old "
                                "certificate (a Talos ca.key: rotate the cluster CA)"),
    "talos-token": _cred("Talos", "talosctl gen secrets for new tokens (or rotate the "
                         "bootstrap token), apply the machine configs, then remove the old "
                         "token"),
    "talos-encryption-secret": _cred("Talos", "add a new key to the etcd encryption config, "
                                     "rewrite every Secret, then remove the exposed key"),
    "talos-cluster-secret": _cred("Talos", "regenerate the cluster secret with talosctl gen "
                                  "secrets and apply the machine configs"),
    "s3-account-endpoint": _ident("S3-compatible storage", "names the account or bucket; the "
                                  "access keys are the secret"),
    "jwt": _cred("generic", "a signed token works until it expires: revoke it where it was "
                 "issued (or rotate the issuer's signing key) and issue a new one"),
    "github-token": _cred("GitHub", "GitHub > Settings > Developer settings > Personal access "
                          "tokens (or the app's settings): revoke the token, create a new one"),
    "gitlab-token": _cred("GitLab", "GitLab > Access tokens (user, project or group): revoke "
                          "the token, create a new one"),
    "slack-token": _cred("Slack", "api.slack.com > the app: regenerate the token or webhook "
                         "URL; revoke the old one"),
    "stripe-key": _cred("Stripe", "Stripe Dashboard > Developers > API keys: Roll key"),
    "azure-storage-key": _cred("Azure", "Azure portal > the storage account > Access keys: "
                               "Rotate key (switch consumers to the other key first)"),
    "discord-bot-token": _cred("Discord", "Discord Developer Portal > the application > Bot: "
                               "Reset Token"),
    "mailchimp-key": _cred("Mailchimp", "Mailchimp > Account > Extras > API keys: disable the "
                           "key, create a new one"),
    "npm-token": _cred("npm", "npmjs.com > Access Tokens: delete the token (npm token revoke), "
                       "create a new one"),
    "openai-token": _cred("OpenAI", "OpenAI platform > API keys: revoke the key, create a new "
                          "one"),
    "pypi-token": _cred("PyPI", "pypi.org > Account settings > API tokens: remove the token, "
                        "add a new one"),
    "sendgrid-key": _cred("SendGrid", "SendGrid > Settings > API Keys: delete the key, create a"
                          " new one"),
    "square-oauth-secret": _cred("Square", "Square Developer Dashboard > the application > "
                                 "OAuth: replace the application secret"),
    "twilio-key": _cred("Twilio", "Twilio Console > API keys & tokens: delete the key (or "
                        "rotate the auth token), create a new one"),
    # Not a kind of value: a dev value production inherits; exposure never reports it.
    "env-leak": _ident("secretsync", "a finding about environments, not a kind of value"),
}


def classify(detector_id: str) -> Rotation:
    """The classification; an id missing from the table (which a test forbids) counts as a
    credential: rotating too much is safer than too little."""
    return ROTATION.get(detector_id) or _cred("unknown", _GENERIC)


def push_command(name: str, config: str | None, project: str | None = None) -> str:
    """The command that stores the new value (read from stdin, never an argument)."""
    cmd = f"secretsync push --set {name} --config {config or 'CONFIG'}"
    if project:
        cmd += f" --project {project}"
    return cmd + " --overwrite"
