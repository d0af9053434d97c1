//! `hotline-desk`: the support desk as a program of its own, configured from the environment.
//!
//! Every user who writes to the bot gets a forum topic in the operators' group; operators answer
//! from there. The desk's state (who owns which topic, which updates were handled) lives in a
//! database, so a restart, a crash or a `SIGKILL` loses nothing and repeats nothing the desk
//! had recorded (see `docs/operations.md`).
//!
//! ```sh
//! TELEGRAM_BOT_TOKEN=123456:ABC... HOTLINE_BACKEND_GROUP=-1001234567890 \
//!     cargo run --release --bin hotline-desk
//! ```
//!
//! Updates that could not be handled after their attempts are set aside as dead letters (the
//! operators are told in the topic); deal with them with
//!
//! ```sh
//! hotline-desk dead-letters list          # id, update, user, attempts, times, error
//! hotline-desk dead-letters retry ID      # hand it to the desk again (relayed once)
//! hotline-desk dead-letters drop ID       # forget it
//! ```
//!
//! | variable | meaning |
//! |---|---|
//! | `TELEGRAM_BOT_TOKEN`, `HOTLINE_BACKEND_GROUP` | required: the bot, and the operators' forum group |
//! | `TELEGRAM_API_URL`, `HOTLINE_LIMITS`, `HOTLINE_CONFIG`, `WELCOME`, ... | optional, as `Settings::from_env` reads them |
//! | `HOTLINE_DATABASE` | `sqlite://path/to/desk.db` (default `sqlite://hotline.db`: a file in WAL mode, created if missing; a relative path is taken from the working directory, and `--help` and the start-up line show it absolute) or `postgres://user:password@host/db` (with the `postgres` feature; for several replicas) |
//! | `HOTLINE_MODE` | `polling` (default: long polling) or `webhook` |
//! | `HOTLINE_WEBHOOK_LISTEN` | webhook mode: the address to serve on (default `0.0.0.0:8080`) |
//! | `HOTLINE_WEBHOOK_URL` | webhook mode, required: the public HTTPS URL given to `setWebhook` |
//! | `HOTLINE_WEBHOOK_SECRET` | webhook mode, required: the secret Telegram sends with each update (1-256 of `A-Z a-z 0-9 _ -`) |
//! | `HOTLINE_PREFLIGHT` | `strict` (default): stop at start, naming the fix, when the backend group is not a forum or the bot may not manage its topics; `warn`: print the problems and start anyway |
//! | `HOTLINE_LOG` | `error`, `warn`, `info` (default), `debug`, `trace` or `off`: what the desk logs to stderr |
//! | `HOTLINE_METRICS` | an address like `127.0.0.1:9464`: serve Prometheus metrics on `/metrics`, and `/healthz`, `/readyz` (see `docs/operations.md`); unset: none |
//!
//! `hotline-desk --help` prints this list and where the database is; `--version` the version.
//!
//! It runs until SIGINT (Ctrl-C) or SIGTERM, then finishes the updates in flight (and, polling,
//! confirms them to Telegram) before it exits. A configuration or start-up error is printed on
//! one line naming the variable at fault (never the token) and the exit code is 1: a token the
//! Bot API refuses is `TELEGRAM_BOT_TOKEN`, a Bot API it cannot reach `TELEGRAM_API_URL` (with
//! the host), a group the bot cannot see or use `HOTLINE_BACKEND_GROUP`.

use hotline::core::Clock;
use hotline::telegram::archive_export::{ArchiveExport, export_archive, parse_since};
use hotline::telegram::standalone::{
    DEFAULT_DATABASE, Mode, database, describe_database as describe, metrics_address, mode,
    serve_metrics, start_logging,
};
use hotline::{Hotline, Settings, shutdown_signal};
use std::path::PathBuf;
use std::process::ExitCode;

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// What the command line asks for.
enum Command {
    Serve,
    Help,
    Version,
    DeadLetters(DeadLetterCommand),
    ArchiveExport(ArchiveExportCommand),
}

/// `hotline-desk archive export ...`: what to export, and where to.
struct ArchiveExportCommand {
    export: ArchiveExport,
    out: PathBuf,
}

const ARCHIVE_USAGE: &str =
    "usage: hotline-desk archive export [--user ID] [--since WHEN] --format jsonl|html [--out DIR]";

/// Reads `archive export`'s options (after those two words).
fn archive_export_command(args: &[String]) -> Result<ArchiveExportCommand, String> {
    let mut export = ArchiveExport::default();
    let mut out = PathBuf::from("archive-export");
    let mut format = None;
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{flag} needs a value; {ARCHIVE_USAGE}"))
        };
        match flag.as_str() {
            "--user" => {
                let id = value()?;
                export.user =
                    Some(hotline::UserId(id.parse().map_err(|_| {
                        format!("--user: `{id}` is not a user id (a number)")
                    })?));
            }
            "--since" => {
                export.since = parse_since(value()?, hotline::core::SystemClock.now())
                    .map_err(|e| e.to_string())?;
            }
            "--format" => {
                format = Some(
                    value()?
                        .parse()
                        .map_err(|e: hotline::telegram::Error| e.to_string())?,
                )
            }
            "--out" => out = PathBuf::from(value()?),
            other => return Err(format!("`{other}`: {ARCHIVE_USAGE}")),
        }
    }
    export.format = format.ok_or_else(|| format!("--format is missing; {ARCHIVE_USAGE}"))?;
    Ok(ArchiveExportCommand { export, out })
}

/// Writes the archive's conversations as files; needs only the database.
async fn archive_export(command: ArchiveExportCommand) -> Result<(), String> {
    let store = hotline::store_sql::connect(&database())
        .await
        .map_err(|e| format!("HOTLINE_DATABASE: {}", hotline::core::error_chain(&e)))?;
    let files = export_archive(store.as_ref(), &command.export, &command.out)
        .await
        .map_err(|e| hotline::core::error_chain(&e).to_string())?;
    if files.is_empty() {
        println!("no archived messages to export");
    }
    for file in &files {
        println!("{}", file.display());
    }
    Ok(())
}

enum DeadLetterCommand {
    List,
    Retry(hotline::DeadLetterId),
    Drop(hotline::DeadLetterId),
}

const DEAD_LETTERS_USAGE: &str = "usage: hotline-desk dead-letters list | retry ID | drop ID";

fn command(args: &[String]) -> Result<Command, String> {
    let id = |arg: Option<&String>| -> Result<hotline::DeadLetterId, String> {
        let arg =
            arg.ok_or_else(|| format!("a dead letter's id is missing; {DEAD_LETTERS_USAGE}"))?;
        arg.parse().map_err(|_| {
            format!("`{arg}` is not a dead letter's id (a number); {DEAD_LETTERS_USAGE}")
        })
    };
    match args.first().map(String::as_str) {
        None => Ok(Command::Serve),
        Some("--help" | "-h" | "help") => Ok(Command::Help),
        Some("--version" | "-V" | "version") => Ok(Command::Version),
        Some("dead-letters") => Ok(Command::DeadLetters(
            match args.get(1).map(String::as_str) {
                None | Some("list") => DeadLetterCommand::List,
                Some("retry") => DeadLetterCommand::Retry(id(args.get(2))?),
                Some("drop") => DeadLetterCommand::Drop(id(args.get(2))?),
                Some(other) => return Err(format!("`{other}`: {DEAD_LETTERS_USAGE}")),
            },
        )),
        Some("archive") => match args.get(1).map(String::as_str) {
            Some("export") => Ok(Command::ArchiveExport(archive_export_command(&args[2..])?)),
            _ => Err(ARCHIVE_USAGE.to_owned()),
        },
        Some(other) => Err(format!(
            "`{other}` is not a command: run without arguments to serve, `--help`, \
             `--version`, or {}",
            DEAD_LETTERS_USAGE.trim_start_matches("usage: ")
        )),
    }
}

/// `hotline-desk dead-letters ...`: listing and dropping need only the database; a retry hands
/// the update to a desk built from the same settings as a running one.
async fn dead_letters(command: DeadLetterCommand) -> Result<(), String> {
    let database = database();
    let store = hotline::store_sql::connect(&database)
        .await
        .map_err(|e| format!("HOTLINE_DATABASE: {}", hotline::core::error_chain(&e)))?;
    match command {
        DeadLetterCommand::List => {
            let letters = store
                .dead_letters(10_000)
                .await
                .map_err(|e| hotline::core::error_chain(&e).to_string())?;
            if letters.is_empty() {
                println!("no dead letters");
            }
            for letter in letters {
                let user = letter
                    .user
                    .map_or_else(|| "-".to_owned(), |u| u.0.to_string());
                println!(
                    "#{} {} user {} attempts {} first_failed {} last_failed {} error: {}",
                    letter.id,
                    letter.key,
                    user,
                    letter.attempts,
                    letter.first_failed.0,
                    letter.last_failed.0,
                    letter.error
                );
            }
            Ok(())
        }
        DeadLetterCommand::Drop(id) => {
            if store
                .remove_dead_letter(id)
                .await
                .map_err(|e| hotline::core::error_chain(&e).to_string())?
            {
                println!("dead letter #{id} dropped");
                Ok(())
            } else {
                Err(format!("dead letter #{id} does not exist"))
            }
        }
        DeadLetterCommand::Retry(id) => {
            let settings = Settings::from_env().map_err(|e| e.to_string())?;
            let hotline = Hotline::from_settings(settings)
                .store(store)
                .build()
                .map_err(|e| e.to_string())?;
            hotline.retry_dead_letter(id).await.map_err(|e| {
                format!(
                    "dead letter #{id} failed again: {}",
                    hotline::core::error_chain(&e)
                )
            })?;
            println!("dead letter #{id} handled");
            Ok(())
        }
    }
}

/// Whether the start-up check of the backend group stops the desk (`HOTLINE_PREFLIGHT`).
fn preflight_strict() -> Result<bool, String> {
    match var("HOTLINE_PREFLIGHT").as_deref().map(str::trim) {
        None | Some("strict") => Ok(true),
        Some("warn") => Ok(false),
        Some(other) => Err(format!(
            "HOTLINE_PREFLIGHT: `{other}` is neither `strict` nor `warn`"
        )),
    }
}

fn help() -> String {
    format!(
        "hotline-desk {version}: a Telegram support desk (one forum topic per user)

usage:
  hotline-desk                          serve (long polling, or a webhook)
  hotline-desk dead-letters list        updates set aside after their attempts
  hotline-desk dead-letters retry ID    hand one to the desk again
  hotline-desk dead-letters drop ID     forget one
  hotline-desk archive export [--user ID] [--since WHEN] --format jsonl|html [--out DIR]
                                        one file per conversation of the archive (ARCHIVE);
                                        WHEN: Unix seconds, 2026-01-01, RFC 3339 or 30d;
                                        DIR: default ./archive-export
  hotline-desk --help | --version

environment:
  TELEGRAM_BOT_TOKEN       required: the token @BotFather gave the bot
  HOTLINE_BACKEND_GROUP    required: the operators' forum group id (-100...)
  TELEGRAM_API_URL         the Bot API (default https://api.telegram.org)
  HOTLINE_DATABASE         sqlite://path or postgres://... (default {DEFAULT_DATABASE})
  HOTLINE_MODE             polling (default) or webhook
  HOTLINE_WEBHOOK_LISTEN   webhook: address to serve on (default 0.0.0.0:8080)
  HOTLINE_WEBHOOK_URL      webhook, required: the public HTTPS URL
  HOTLINE_WEBHOOK_SECRET   webhook, required: 1-256 of A-Z a-z 0-9 _ -
  HOTLINE_PREFLIGHT        strict (default: stop when the group is not a forum or the bot
                           may not manage topics) or warn (print the problems, start anyway)
  HOTLINE_LIMITS           GLOBAL/s,PER_CHAT/s,PER_GROUP/min (default 30,1,20) or off
  HOTLINE_CONFIG           a TOML file of Hotline parameters
  HOTLINE_LOG              error, warn, info (default), debug, trace or off
  HOTLINE_METRICS          an address like 127.0.0.1:9464: /metrics, /healthz, /readyz
  PRIVATE_KEYWORDS, WELCOME, AUTOCLOSE, ...   Hotline parameters (docs/configuration.md)

state: {database}
",
        version = env!("CARGO_PKG_VERSION"),
        database = describe(&database()),
    )
}

async fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match command(&args)? {
        Command::Help => {
            print!("{}", help());
            return Ok(());
        }
        Command::Version => {
            println!("hotline-desk {}", env!("CARGO_PKG_VERSION"));
            return Ok(());
        }
        Command::DeadLetters(command) => {
            start_logging("hotline-desk")?;
            return dead_letters(command).await;
        }
        Command::ArchiveExport(command) => {
            start_logging("hotline-desk")?;
            return archive_export(command).await;
        }
        Command::Serve => start_logging("hotline-desk")?,
    }
    let settings = Settings::from_env().map_err(|e| e.to_string())?;
    let mode = mode()?;
    let strict = preflight_strict()?;
    let database = database();
    let store = hotline::store_sql::connect(&database)
        .await
        .map_err(|e| format!("HOTLINE_DATABASE: {e}"))?;
    let api_url = settings.api_url.clone();
    let group = settings.config.backend_group;
    let hotline = Hotline::from_settings(settings)
        .store(store)
        .build()
        .map_err(|e| e.to_string())?;
    if let Some(address) = metrics_address()? {
        let bound = serve_metrics(&hotline, address).await?;
        println!("hotline-desk: metrics on http://{bound}/metrics (and /healthz, /readyz)");
    }
    if strict {
        // Users would get nothing: stop, naming the fix.
        hotline.preflight_strict().await.map_err(|e| match e {
            hotline::telegram::Error::Preflight { .. } => {
                format!("HOTLINE_BACKEND_GROUP: {e} (HOTLINE_PREFLIGHT=warn starts anyway)")
            }
            e => e.to_string(),
        })?;
    } else {
        for problem in hotline.preflight().await.map_err(|e| e.to_string())? {
            eprintln!("hotline-desk: warning: {problem} (HOTLINE_PREFLIGHT=warn: starting anyway)");
        }
    }
    // The token is a password: the bot is named by its id only.
    let bot = hotline.client().token().bot_id();
    let database = describe(&database);
    match mode {
        Mode::Polling => {
            println!(
                "hotline-desk: bot {bot} on {api_url}, operators' group {}, state in {database}; \
                 long polling",
                group.0
            );
            hotline.run_polling(shutdown_signal()).await
        }
        Mode::Webhook {
            listen,
            url,
            secret,
        } => {
            println!(
                "hotline-desk: bot {bot} on {api_url}, operators' group {}, state in {database}; \
                 webhook on {listen}",
                group.0
            );
            hotline
                .serve_webhook(listen, &url, &secret, shutdown_signal())
                .await
        }
    }
    .map_err(|e| e.to_string())?;
    println!("hotline-desk: stopped");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hotline-desk: {error}");
            ExitCode::FAILURE
        }
    }
}
