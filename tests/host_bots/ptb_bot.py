"""A host bot written with python-telegram-bot 22, unmodified but for its base URLs: one of the
four bots CI runs through the Bot API gateway (tests/host_bots.rs at the workspace root). Its
twins in aiogram, grammY and teloxide behave the same.

Environment: BOT_API_URL (e.g. http://127.0.0.1:8081, no trailing slash), BOT_TOKEN.
Prints one line `ready` on stdout once it is about to poll. Private chats only.

    BOT_API_URL=http://127.0.0.1:8081 BOT_TOKEN=123:ABC .venv/bin/python tests/host_bots/ptb_bot.py
"""

import logging
import os
import sys

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.ext import (
    TypeHandler,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

BASE = os.environ["BOT_API_URL"]
TOKEN = os.environ["BOT_TOKEN"]
PRIVATE = filters.ChatType.PRIVATE


async def post_init(app: Application):
    # Application.initialize() has called getMe; run_polling polls next.
    print("ready", flush=True)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE):
    faq = InlineKeyboardMarkup([[InlineKeyboardButton("FAQ", callback_data="faq")]])
    await update.message.reply_text("Welcome to Acme! Tap FAQ for answers.", reply_markup=faq)


async def faq(update: Update, context: ContextTypes.DEFAULT_TYPE):
    query = update.callback_query
    if query.message is None or query.message.chat.type != "private":
        return
    await query.answer()
    await context.bot.send_message(query.message.chat.id, "FAQ: we are open 9-18, Monday to Friday.")


async def upload(update: Update, context: ContextTypes.DEFAULT_TYPE):
    report = InputFile(b"hello from the bot", filename="report.txt")
    await update.message.reply_document(report, caption="Here is your report")


async def got_file(update: Update, context: ContextTypes.DEFAULT_TYPE):
    message = update.message
    if message.photo:
        file_id = max(message.photo, key=lambda p: p.width * p.height).file_id
    else:
        file_id = message.document.file_id
    data = await (await context.bot.get_file(file_id)).download_as_bytearray()
    await message.reply_text(f"Got your file: {len(data)} bytes")


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE):
    await update.message.reply_text(f"You said: {update.message.text}")


async def seen(update: Update, context: ContextTypes.DEFAULT_TYPE):
    # One line per update received, for the tests: which chats the bot hears from.
    chat = update.effective_chat
    print(f"update chat={chat.id if chat else 'none'}", flush=True)


def main():
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(f"{BASE}/bot")
        .base_file_url(f"{BASE}/file/bot")
        .post_init(post_init)
        .build()
    )
    app.add_handler(TypeHandler(Update, seen), group=-1)
    app.add_handler(CommandHandler("start", start, filters=PRIVATE))
    app.add_handler(CommandHandler("upload", upload, filters=PRIVATE))
    app.add_handler(CallbackQueryHandler(faq, pattern="^faq$"))
    app.add_handler(MessageHandler(PRIVATE & (filters.PHOTO | filters.Document.ALL), got_file))
    app.add_handler(MessageHandler(PRIVATE & filters.TEXT, echo))
    app.run_polling()


if __name__ == "__main__":
    # httpx logs every request URL (the token in it) at INFO: keep it at WARNING.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    main()
