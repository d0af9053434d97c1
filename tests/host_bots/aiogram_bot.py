"""A host bot written with aiogram 3, unmodified but for its API server: one of the four bots
CI runs through the Bot API gateway (tests/host_bots.rs at the workspace root). Its twins in
python-telegram-bot, grammY and teloxide behave the same.

Environment: BOT_API_URL (e.g. http://127.0.0.1:8081, no trailing slash), BOT_TOKEN.
Prints one line `ready` on stdout once it is about to poll. Private chats only.

    BOT_API_URL=http://127.0.0.1:8081 BOT_TOKEN=123:ABC .venv/bin/python tests/host_bots/aiogram_bot.py
"""

import asyncio
import logging
import os
import sys

from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandStart
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

BASE = os.environ["BOT_API_URL"]
TOKEN = os.environ["BOT_TOKEN"]

dp = Dispatcher()


@dp.update.outer_middleware()
async def seen(handler, update, data):
    # One line per update received, for the tests: which chats the bot hears from.
    chat = data.get("event_chat")
    print(f"update chat={chat.id if chat else 'none'}", flush=True)
    return await handler(update, data)

# Groups and supergroups get no answer at all.
dp.message.filter(F.chat.type == ChatType.PRIVATE)
dp.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)


@dp.startup()
async def on_startup(bot: Bot):
    await bot.me()  # getMe, cached: start_polling asks bot.me() again before its first poll
    print("ready", flush=True)


@dp.message(CommandStart())
async def start(message: Message):
    faq = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="FAQ", callback_data="faq")]])
    await message.answer("Welcome to Acme! Tap FAQ for answers.", reply_markup=faq)


@dp.callback_query(F.data == "faq")
async def faq(query: CallbackQuery, bot: Bot):
    await query.answer()
    await bot.send_message(query.message.chat.id, "FAQ: we are open 9-18, Monday to Friday.")


@dp.message(Command("upload"))
async def upload(message: Message):
    report = BufferedInputFile(b"hello from the bot", filename="report.txt")
    await message.answer_document(report, caption="Here is your report")


@dp.message(F.photo | F.document)
async def got_file(message: Message, bot: Bot):
    if message.photo:
        file_id = max(message.photo, key=lambda p: p.width * p.height).file_id
    else:
        file_id = message.document.file_id
    data = await bot.download(file_id)  # getFile, then GET /file/bot<token>/<file_path>
    await message.answer(f"Got your file: {len(data.getvalue())} bytes")


@dp.message(F.text)
async def echo(message: Message):
    await message.answer(f"You said: {message.text}")


async def main():
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(BASE)))
    await bot.delete_webhook(drop_pending_updates=False)
    await dp.start_polling(bot)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(main())
