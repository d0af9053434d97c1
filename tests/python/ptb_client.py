"""python-telegram-bot, unmodified, against the fake Telegram server.

getMe, a long-polled getUpdates that receives a user's message sent meanwhile through the
control plane, sendMessage, createForumTopic, copyMessage into the topic, and a webhook round
trip (a local HTTP listener; the server pushes with X-Telegram-Bot-Api-Secret-Token).
"""

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import telegram
from telegram import Bot, Update
from telegram.error import BadRequest

from _common import API_URL, GROUP, SECRET, TOKEN, USER, control, thread_messages, user_writes_later


class Hook(BaseHTTPRequestHandler):
    received = []
    event = threading.Event()

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append((self.headers.get("X-Telegram-Bot-Api-Secret-Token"), json.loads(body)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
        Hook.event.set()

    def log_message(self, *args):
        pass


async def main():
    bot = Bot(TOKEN, base_url=f"{API_URL}/bot", base_file_url=f"{API_URL}/file/bot")
    async with bot:
        me = await bot.get_me()
        assert me.is_bot and me.id == int(TOKEN.split(":")[0]), me
        assert me.can_join_groups is not None

        # Long poll: the user's message arrives while getUpdates waits.
        writer = asyncio.create_task(user_writes_later("hello from ptb"))
        started = time.monotonic()
        updates = await bot.get_updates(timeout=10, allowed_updates=["message", "callback_query"])
        waited = time.monotonic() - started
        await writer
        assert len(updates) == 1, updates
        msg = updates[0].message
        assert msg.text == "hello from ptb" and msg.from_user.id == USER, msg
        assert 0.2 < waited < 5, waited
        await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)

        sent = await bot.send_message(USER, "Hi! An operator will answer soon.", reply_to_message_id=msg.message_id)
        assert sent.reply_to_message.message_id == msg.message_id

        topic = await bot.create_forum_topic(GROUP, "Ann (ptb)")
        assert topic.name == "Ann (ptb)"
        copied = await bot.copy_message(GROUP, USER, msg.message_id, message_thread_id=topic.message_thread_id)
        in_topic = thread_messages(GROUP, topic.message_thread_id)
        copy = [m for m in in_topic if m["message_id"] == copied.message_id]
        assert copy and copy[0]["text"] == "hello from ptb" and copy[0]["is_topic_message"], in_topic

        try:
            await bot.send_message(GROUP, "x", message_thread_id=999999)
            raise AssertionError("a missing topic must fail")
        except BadRequest as e:
            assert "message thread not found" in e.message.lower(), e.message

        # Webhook round trip.
        server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        assert await bot.set_webhook(url, secret_token=SECRET)
        info = await bot.get_webhook_info()
        assert info.url == url, info
        await asyncio.to_thread(control, "POST", "messages", {"from": USER, "chat_id": USER, "text": "via webhook"})
        assert await asyncio.to_thread(Hook.event.wait, 10), "no webhook delivery"
        secret, payload = Hook.received[0]
        assert secret == SECRET, secret
        update = Update.de_json(payload, bot)
        assert update.message.text == "via webhook", update
        try:
            await bot.get_updates(timeout=0)
            raise AssertionError("getUpdates must conflict while a webhook is set")
        except telegram.error.Conflict:
            pass
        assert await bot.delete_webhook()
        server.shutdown()
    print("OK python-telegram-bot", telegram.__version__)


asyncio.run(main())
