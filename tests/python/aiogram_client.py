"""aiogram, unmodified, against the fake Telegram server.

getMe, a long-polled getUpdates that receives a user's message sent meanwhile through the
control plane, sendMessage, createForumTopic, copyMessage into the topic, and a webhook round
trip through aiogram's own aiohttp webhook handler, which checks the secret token header.
"""

import asyncio
import time

import aiogram
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramConflictError
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from _common import API_URL, GROUP, SECRET, TOKEN, USER, control, thread_messages, user_writes_later


async def main():
    session = AiohttpSession(api=TelegramAPIServer.from_base(API_URL))
    bot = Bot(TOKEN, session=session)
    try:
        me = await bot.get_me()
        assert me.is_bot and me.id == int(TOKEN.split(":")[0]), me

        writer = asyncio.create_task(user_writes_later("hello from aiogram"))
        started = time.monotonic()
        updates = await bot.get_updates(timeout=10, allowed_updates=["message"])
        waited = time.monotonic() - started
        await writer
        assert len(updates) == 1, updates
        msg = updates[0].message
        assert msg.text == "hello from aiogram" and msg.from_user.id == USER, msg
        assert 0.2 < waited < 5, waited
        await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)

        sent = await bot.send_message(USER, "<b>Hi!</b> An operator will answer soon.", parse_mode="HTML")
        assert sent.text == "Hi! An operator will answer soon." and sent.entities[0].type == "bold", sent

        topic = await bot.create_forum_topic(GROUP, "Ann (aiogram)")
        copied = await bot.copy_message(
            chat_id=GROUP, from_chat_id=USER, message_id=msg.message_id, message_thread_id=topic.message_thread_id
        )
        in_topic = thread_messages(GROUP, topic.message_thread_id)
        assert any(m["message_id"] == copied.message_id and m["text"] == "hello from aiogram" for m in in_topic), in_topic

        try:
            await bot.create_forum_topic(USER, "not a forum")
            raise AssertionError("a private chat is not a forum")
        except TelegramBadRequest as e:
            assert "not a forum" in e.message, e.message

        # Webhook round trip through aiogram's own handler (it rejects a wrong secret).
        dp = Dispatcher()
        got = asyncio.get_running_loop().create_future()

        @dp.message()
        async def on_message(message: Message):
            if not got.done():
                got.set_result(message)

        app = web.Application()
        SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token=SECRET).register(app, path="/hook")
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{port}/hook"
        assert await bot.set_webhook(url, secret_token=SECRET, allowed_updates=["message"])
        info = await bot.get_webhook_info()
        assert info.url == url, info
        await asyncio.to_thread(control, "POST", "messages", {"from": USER, "chat_id": USER, "text": "via webhook"})
        message = await asyncio.wait_for(got, 10)
        assert message.text == "via webhook", message
        try:
            await bot.get_updates(timeout=0)
            raise AssertionError("getUpdates must conflict while a webhook is set")
        except TelegramConflictError:
            pass
        assert await bot.delete_webhook()
        await runner.cleanup()
    finally:
        await bot.session.close()
    print("OK aiogram", aiogram.__version__)


asyncio.run(main())
