"""Helpers shared by the client scripts: the fake server's control plane, over plain HTTP.

Environment (set by crates/hotline-testkit/tests/python_clients.rs):
  HOTLINE_API_URL   base URL of the fake server, e.g. http://127.0.0.1:PORT
  HOTLINE_TOKEN     bot token the server accepts
  HOTLINE_USER      id of a user who has a private chat with the bot
  HOTLINE_GROUP     id of a forum supergroup where the bot is admin
"""

import asyncio
import json
import os
import urllib.request

API_URL = os.environ["HOTLINE_API_URL"].rstrip("/")
TOKEN = os.environ["HOTLINE_TOKEN"]
USER = int(os.environ["HOTLINE_USER"])
GROUP = int(os.environ["HOTLINE_GROUP"])
SECRET = "hotline-secret_42"


def control(method: str, path: str, body=None):
    """Calls /_testkit/<path>; returns `result`, raises on `ok: false`."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        f"{API_URL}/_testkit/{path}",
        data=data,
        method=method,
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        env = json.loads(resp.read())
    assert env["ok"] is True, env
    return env["result"]


async def user_writes_later(text: str, delay: float = 0.3):
    """A user writes to the bot through the control plane after `delay` seconds."""
    await asyncio.sleep(delay)
    return await asyncio.to_thread(
        control, "POST", "messages", {"from": USER, "chat_id": USER, "text": text}
    )


def thread_messages(chat_id: int, thread_id: int):
    return control("GET", f"chats/{chat_id}/messages?message_thread_id={thread_id}")
