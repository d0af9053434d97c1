// A host bot written with grammY, unmodified but for its apiRoot: one of the four bots CI runs
// through the Bot API gateway (tests/host_bots.rs at the workspace root). Its twins in aiogram,
// python-telegram-bot and teloxide behave the same.
//
// Environment: BOT_API_URL (e.g. http://127.0.0.1:8081, no trailing slash), BOT_TOKEN.
// Prints one line `ready` on stdout once it is about to poll. Private chats only.
//
//   npm ci --prefix tests/host_bots/grammy
//   BOT_API_URL=http://127.0.0.1:8081 BOT_TOKEN=123:ABC node tests/host_bots/grammy/bot.mjs

import { Bot, InlineKeyboard, InputFile } from "grammy";

const BASE = process.env.BOT_API_URL;
const TOKEN = process.env.BOT_TOKEN;
if (!BASE || !TOKEN) {
  console.error("BOT_API_URL and BOT_TOKEN must be set");
  process.exit(2);
}

const bot = new Bot(TOKEN, { client: { apiRoot: BASE } });
// One line per update received, for the tests: which chats the bot hears from.
bot.use((ctx, next) => {
  console.log(`update chat=${ctx.chat ? ctx.chat.id : "none"}`);
  return next();
});
// Groups and supergroups get no answer at all.
const pm = bot.chatType("private");

pm.command("start", (ctx) =>
  ctx.reply("Welcome to Acme! Tap FAQ for answers.", {
    reply_markup: new InlineKeyboard().text("FAQ", "faq"),
  }),
);

pm.callbackQuery("faq", async (ctx) => {
  await ctx.answerCallbackQuery();
  await ctx.api.sendMessage(ctx.chat.id, "FAQ: we are open 9-18, Monday to Friday.");
});

pm.command("upload", (ctx) =>
  ctx.replyWithDocument(new InputFile(new TextEncoder().encode("hello from the bot"), "report.txt"), {
    caption: "Here is your report",
  }),
);

pm.on([":photo", ":document"], async (ctx) => {
  const msg = ctx.message;
  const fileId = msg.photo
    ? msg.photo.reduce((a, b) => (b.width * b.height > a.width * a.height ? b : a)).file_id
    : msg.document.file_id;
  const file = await ctx.api.getFile(fileId);
  // Core grammY has no downloader; @grammyjs/files builds this same URL.
  const res = await fetch(`${BASE}/file/bot${TOKEN}/${file.file_path}`);
  if (!res.ok) throw new Error(`file download failed: HTTP ${res.status}`);
  const data = new Uint8Array(await res.arrayBuffer());
  await ctx.reply(`Got your file: ${data.length} bytes`);
});

pm.on("message:text", (ctx) => ctx.reply(`You said: ${ctx.message.text}`));

// grammY's errors name the method, never the URL (no token in them).
bot.catch((err) => console.error(`error while handling update ${err.ctx.update.update_id}:`, err.error?.message ?? err.error));

await bot.start({
  // After getMe and deleteWebhook, just before the first getUpdates.
  onStart: () => process.stdout.write("ready\n"),
});
