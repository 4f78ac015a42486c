"""Telegram: bot tokens and chat ids.

Usable as a detect-secrets plugin: `detect-secrets scan --plugin detectors/telegram.py FILE`.
No `from __future__ import annotations` in provider modules: detect-secrets loads them by path
without registering them in sys.modules, where dataclasses cannot resolve string annotations.
"""

import re

from secretsync.detection import Context, Detector, Example
from secretsync.detectors._common import (
    Keywords,
    LinePlugin,
    PatternDetector,
    names,
    path_has,
)


def _token_secret(text: str, ctx: Context) -> bool:
    # The part after the colon is random base64url; `12345:` followed by a 34-char lowercase
    # word is not a token.
    secret = text.split(":", 1)[1]
    return any(c.isupper() for c in secret) and any(c.islower() for c in secret)


BOT_TOKEN = PatternDetector(
    id="telegram-bot-token",
    description="Telegram bot token (<bot id>:<35-char secret>)",
    # No look-behind: a leading assertion costs Python's re its fast skip to candidate
    # characters. Five digits before the colon already rule out `sha256:` digests.
    # The colon first, so that re skips to colons at memory speed (a leading digit class is
    # tried at every position); the look-behind then wants the bot id's digits.
    prefilter=re.compile(r":[A-Za-z0-9_-]{34}(?<=[0-9]{5}:[A-Za-z0-9_-]{34})"),
    pattern=re.compile(r"(?<![0-9])[0-9]{5,16}:[A-Za-z0-9_-]{34,35}(?![A-Za-z0-9_-])"),
    accept=_token_secret,
    quick=":",
)

_CHAT_KEYS = ("chatid", "chatids", "chat", "chats")
_TELEGRAM_TARGETS = frozenset({"channel", "channelid", "group", "groupid", "to", "recipient",
                               "recipients", "target", "userid"})


def _chat_context(ctx: Context) -> bool:
    ns = names(ctx)
    if any(n.endswith(_CHAT_KEYS) for n in ns):
        return True
    return path_has(ctx, "telegram") and any(n in _TELEGRAM_TARGETS for n in ns)


def _chat_id(text: str, ctx: Context) -> bool:
    digits = text.lstrip("-")
    if text.startswith("-100"):
        # Supergroups and channels: -100 followed by the channel id (~10 digits today).
        return 8 <= len(digits) - 3 <= 13
    return 5 <= len(digits) <= 15


CHAT_ID = PatternDetector(
    id="telegram-chat-id",
    description="Telegram chat id (user, group, or -100... supergroup/channel) in chat context",
    prefilter=Keywords(("chat", "telegram")),
    requires=(re.compile(r"[0-9]{5}"),),
    # Several ids may share one value (`-100123,-100456`); a YAML integer arrives as digits.
    pattern=re.compile(r"(?<![\w.:/-])-?[0-9]{5,16}(?![\w.:])"),
    needs=_chat_context,
    accept=_chat_id,
)

DETECTORS: tuple[Detector, ...] = (BOT_TOKEN, CHAT_ID)


def _c(key: str | None = None, *path: str | int, env: str | None = None) -> Context:
    return Context(key=key, key_path=(*path, key) if key else tuple(path), env_name=env)


_TOKEN = "7412365890:AAHk3xQ9vLmN2pR5sT8uW0yZ1bC4dE6fG7h"
EXAMPLES: tuple[Example, ...] = (
    Example(_TOKEN, _c("botToken", "telegram"), frozenset({"telegram-bot-token"})),
    Example(_TOKEN, _c("value", env="TELEGRAM_BOT_TOKEN"), frozenset({"telegram-bot-token"})),
    Example(f"https://api.telegram.org/bot{_TOKEN}/sendMessage", _c("url"),
            frozenset({"telegram-bot-token"}), "inside a webhook URL"),
    Example("123456:Bx-7kQ9vLmN2pR5sT8uW0yZ1bC4dE6fG7a", _c("token"),
            frozenset({"telegram-bot-token"}), "no AA prefix, 34 characters"),
    Example("12:34:56", _c("time"), frozenset()),
    Example("registry.example.com:5000/app:v1.2.3", _c("image"), frozenset()),
    Example("10000:abcdefghijklmnopqrstuvwxyzabcdefghi", _c("range"), frozenset(),
            "lowercase word, not a token"),
    Example("-1003078665133", _c("chatId", "global", "telegram"),
            frozenset({"telegram-chat-id"}), "seed 2.1 (quoted)"),
    Example("-1003078665133", _c("chat_id"), frozenset({"telegram-chat-id"}),
            "a YAML integer arrives as the same digits"),
    Example("-1003078665133", _c("value", env="TELEGRAM_CHAT_ID"),
            frozenset({"telegram-chat-id"})),
    Example("-987654321", _c("chat"), frozenset({"telegram-chat-id"}), "a basic group"),
    Example("123456789", _c("chatId"), frozenset({"telegram-chat-id"}), "a user"),
    Example("-1003078665133", _c("channel", "alerting", "telegram"),
            frozenset({"telegram-chat-id"})),
    Example("-1003078665133,-1001234567890", _c("chatIds"), frozenset({"telegram-chat-id"}),
            "two ids, two hits"),
    Example("-1003078665133", Context(key="value", key_path=(
        "spec", "template", "spec", "source", "helm", "parameters", 0, "value"),
        entry_name="alertmanager.telegram.chatId"), frozenset({"telegram-chat-id"}),
        "an Argo CD ApplicationSet's Helm parameter"),
    Example("-1003078665133", Context(key="value", entry_name="replicas.max"), frozenset(),
            "a Helm parameter that is no chat"),
    Example("-1003078665133", _c("offset"), frozenset(), "no chat context"),
    Example("1234", _c("chatId"), frozenset(), "too short"),
    Example("1.2345678", _c("chat"), frozenset(), "a number, not an id"),
    Example("my-alerts", _c("chat"), frozenset(), "a name"),
    Example("@my_channel", _c("chat_id"), frozenset(), "a public username, not an id"),
)


class TelegramBotTokenPlugin(LinePlugin):
    secret_type = "Telegram bot token (secretsync)"
    detector = BOT_TOKEN


class TelegramChatIdPlugin(LinePlugin):
    secret_type = "Telegram chat id"
    detector = CHAT_ID
