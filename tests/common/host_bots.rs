//! The four unmodified host bots (aiogram, python-telegram-bot, grammY, teloxide) as child
//! processes pointed at a Bot API URL: the fake Telegram directly, or the gateway in front of
//! it. Each bot behaves the same (see `tests/host_bots/aiogram_bot.py`).
//!
//! * Python: `$HOTLINE_PYTHON`, else `<workspace>/.venv/bin/python`; when neither imports
//!   aiogram and telegram, the venv is created (`tests/python/requirements.txt`) under the
//!   lock file `.venv.lock` that `hotline-testkit`'s python tests share.
//! * Node: `node tests/host_bots/grammy/bot.mjs`; `npm ci` runs first (under a lock file) when
//!   `node_modules` is missing or older than `package-lock.json`.
//! * teloxide: the `teloxide_host_bot` example next to the test binary
//!   (`target/<profile>/examples/`), built with `cargo build --example teloxide_host_bot` when
//!   missing or older than its source (`cargo test --test X` builds no examples);
//!   `$HOTLINE_TELOXIDE_BOT` names another binary.
//!
//! [`HostBot::spawn`] waits for the bot's `ready` line; [`RunningBot`] kills the child when
//! dropped and carries its stdout and stderr for failure messages.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// How long a bot may take from spawn to its `ready` line.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// One of the four host bots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostBot {
    /// aiogram 3.31 (`tests/host_bots/aiogram_bot.py`).
    Aiogram,
    /// python-telegram-bot 22.8 (`tests/host_bots/ptb_bot.py`).
    Ptb,
    /// grammY 1.46 on node (`tests/host_bots/grammy/bot.mjs`).
    Grammy,
    /// teloxide 0.17 (`examples/teloxide_host_bot.rs`).
    Teloxide,
}

/// A host bot's child process; killed (and reaped) on drop.
pub struct RunningBot {
    pub bot: HostBot,
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

impl std::fmt::Debug for RunningBot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningBot")
            .field("bot", &self.bot)
            .field("pid", &self.child.id())
            .finish_non_exhaustive()
    }
}

/// The workspace root: the package's own directory for the facade's tests, two levels up for
/// a member crate's (`crates/hotline-gateway` runs these bots through the gateway).
pub fn workspace() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .find(|dir| dir.join("tests/host_bots").is_dir())
        .map_or(manifest.clone(), Path::to_path_buf)
}

impl HostBot {
    pub const ALL: [HostBot; 4] = [
        HostBot::Aiogram,
        HostBot::Ptb,
        HostBot::Grammy,
        HostBot::Teloxide,
    ];

    pub fn name(self) -> &'static str {
        match self {
            HostBot::Aiogram => "aiogram",
            HostBot::Ptb => "python-telegram-bot",
            HostBot::Grammy => "grammY",
            HostBot::Teloxide => "teloxide",
        }
    }

    /// The command that runs this bot, its runtime installed first if need be (blocking).
    fn command(self) -> Command {
        let ws = workspace();
        match self {
            HostBot::Aiogram | HostBot::Ptb => {
                let script = if self == HostBot::Aiogram {
                    "aiogram_bot.py"
                } else {
                    "ptb_bot.py"
                };
                let mut cmd = Command::new(python());
                cmd.arg(ws.join("tests/host_bots").join(script))
                    .env("PYTHONDONTWRITEBYTECODE", "1")
                    .env("PYTHONUNBUFFERED", "1");
                cmd
            }
            HostBot::Grammy => {
                let dir = ws.join("tests/host_bots/grammy");
                if let Err(e) = npm_ci(&dir) {
                    panic!(
                        "grammY is needed for the host bot tests and `npm ci` failed: {e}\n\
                         Install it with:\n  npm ci --prefix {} --no-audit --no-fund",
                        dir.display()
                    );
                }
                let mut cmd = Command::new("node");
                cmd.arg(dir.join("bot.mjs"));
                cmd
            }
            HostBot::Teloxide => Command::new(teloxide_host_bot()),
        }
    }

    /// Starts the bot against `api_url` (`http://host:port`, no trailing slash) with `token`,
    /// and waits for its `ready` line (at most [`READY_TIMEOUT`]). Panics, with the bot's
    /// output, if it exits or stays silent.
    pub async fn spawn(self, api_url: &str, token: &str) -> RunningBot {
        let mut cmd = tokio::task::spawn_blocking(move || self.command())
            .await
            .expect("host bot command");
        cmd.current_dir(workspace())
            .env("BOT_API_URL", api_url.trim_end_matches('/'))
            .env("BOT_TOKEN", token)
            .env_remove("TELOXIDE_TOKEN")
            .env_remove("TELOXIDE_API_URL")
            .env_remove("HTTP_PROXY")
            .env_remove("HTTPS_PROXY")
            .env_remove("ALL_PROXY")
            .env_remove("http_proxy")
            .env_remove("https_proxy")
            .env_remove("all_proxy")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("{}: cannot start {cmd:?}: {e}", self.name()));
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<()>();
        {
            let pipe = child.stdout.take().expect("stdout");
            let buf = Arc::clone(&stdout);
            std::thread::spawn(move || {
                let mut ready = Some(ready_tx);
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    let is_ready = line.trim() == "ready";
                    {
                        let mut b = buf.lock().unwrap_or_else(|p| p.into_inner());
                        b.push_str(&line);
                        b.push('\n');
                    }
                    if is_ready && let Some(tx) = ready.take() {
                        let _ = tx.send(());
                    }
                }
                // Dropping the sender without sending: the bot closed stdout (exited).
            });
        }
        {
            let mut pipe = child.stderr.take().expect("stderr");
            let buf = Arc::clone(&stderr);
            std::thread::spawn(move || {
                let mut chunk = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    let mut b = buf.lock().unwrap_or_else(|p| p.into_inner());
                    b.push_str(&String::from_utf8_lossy(&chunk[..n]));
                }
            });
        }
        let mut bot = RunningBot {
            bot: self,
            child,
            stdout,
            stderr,
        };
        match tokio::time::timeout(READY_TIMEOUT, ready_rx).await {
            Ok(Ok(())) => {
                eprintln!(
                    "{} ready in {:.2} s",
                    self.name(),
                    started.elapsed().as_secs_f64()
                );
                bot
            }
            Ok(Err(_)) => {
                // Give the stderr reader a moment to drain what the bot said before exiting.
                tokio::time::sleep(Duration::from_millis(200)).await;
                let status = bot.child.try_wait().ok().flatten();
                panic!(
                    "{} exited before printing `ready` ({status:?})\n{}",
                    self.name(),
                    bot.output()
                )
            }
            Err(_) => panic!(
                "{} printed no `ready` line within {READY_TIMEOUT:?}\n{}",
                self.name(),
                bot.output()
            ),
        }
    }
}

impl RunningBot {
    /// What the bot wrote so far, for failure messages.
    pub fn output(&self) -> String {
        let out = self.stdout.lock().unwrap_or_else(|p| p.into_inner());
        let err = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        format!(
            "--- {} stdout\n{out}--- {} stderr\n{err}---",
            self.bot.name(),
            self.bot.name()
        )
    }

    /// Whether the child is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for RunningBot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ----- runtimes ------------------------------------------------------------------------------

/// Runs `cmd` in `dir`; its output in the error.
fn run(cmd: &mut Command, dir: &Path) -> Result<(), String> {
    let out = cmd
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Runs `f` while holding the lock file `lock` (created exclusively; one older than 15
/// minutes is taken for a crashed holder's). `done` says whether the work is already done,
/// checked before waiting and after taking the lock.
fn under_lock(
    lock: &Path,
    done: impl Fn() -> bool,
    f: impl FnOnce() -> Result<(), String>,
) -> Result<(), String> {
    let started = Instant::now();
    loop {
        if done() {
            return Ok(());
        }
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(lock)
        {
            Ok(_) => break,
            Err(_) => {
                let stale = std::fs::metadata(lock)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > Duration::from_secs(900));
                if stale {
                    let _ = std::fs::remove_file(lock);
                }
                if started.elapsed() > Duration::from_secs(900) {
                    return Err(format!("timed out waiting for {}", lock.display()));
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        }
    }
    let result = if done() { Ok(()) } else { f() };
    let _ = std::fs::remove_file(lock);
    result
}

fn has_python_packages(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import telegram, aiogram"])
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The interpreter with aiogram and python-telegram-bot importable (blocking; may create the
/// venv).
pub fn python() -> PathBuf {
    let ws = workspace();
    let venv_python = ws.join(".venv/bin/python");
    if let Some(p) = std::env::var_os("HOTLINE_PYTHON").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if has_python_packages(&p) {
            return p;
        }
        eprintln!(
            "HOTLINE_PYTHON={} cannot import telegram and aiogram; trying {}",
            p.display(),
            venv_python.display()
        );
    }
    let created = under_lock(
        &ws.join(".venv.lock"),
        || has_python_packages(&venv_python),
        || {
            if !venv_python.exists() {
                run(Command::new("python3").args(["-m", "venv", ".venv"]), &ws)?;
            }
            run(
                Command::new(&venv_python).args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "-r",
                    "tests/python/requirements.txt",
                ]),
                &ws,
            )
        },
    );
    if let Err(e) = created {
        panic!(
            "aiogram and python-telegram-bot are needed for the host bot tests, and creating \
             the venv failed: {e}\nInstall them with:\n  cd {} && python3 -m venv .venv && \
             .venv/bin/pip install -r tests/python/requirements.txt\nor set HOTLINE_PYTHON.",
            ws.display()
        );
    }
    venv_python
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Whether `made` exists and is at least as new as every one of `sources`.
/// Every `.rs` file under `dir` (a missing `dir` has none), into `into`.
fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

fn fresh(made: &Path, sources: &[PathBuf]) -> bool {
    let Some(made) = modified(made) else {
        return false;
    };
    sources
        .iter()
        .all(|s| modified(s).is_none_or(|src| src <= made))
}

/// `npm ci` in `dir` unless `node_modules` is current with `package-lock.json` (blocking).
fn npm_ci(dir: &Path) -> Result<(), String> {
    // npm writes node_modules/.package-lock.json on every install.
    let marker = dir.join("node_modules/.package-lock.json");
    let lockfile = dir.join("package-lock.json");
    let current = || fresh(&marker, std::slice::from_ref(&lockfile));
    under_lock(&dir.join(".npm-ci.lock"), current, || {
        run(
            Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]),
            dir,
        )
    })
}

/// The `teloxide_host_bot` example binary of this test build's profile (blocking; may build it).
pub fn teloxide_host_bot() -> PathBuf {
    if let Some(p) = std::env::var_os("HOTLINE_TELOXIDE_BOT").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    example_binary("teloxide_host_bot")
}

/// The binary of the workspace's example `name` for this test build's profile (blocking):
/// built with `cargo build --example` when missing or older than its source, since
/// `cargo test --test X` builds no examples.
pub fn example_binary(name: &str) -> PathBuf {
    // <target>/<profile>/deps/<test binary>
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary is in <target>/<profile>/deps");
    let bin = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let ws = workspace();
    let mut sources = vec![
        ws.join(format!("examples/{name}.rs")),
        ws.join("Cargo.toml"),
        ws.join("Cargo.lock"),
    ];
    // The workspace's own crates, which an example embedding the desk is built from.
    rust_files(&ws.join("crates"), &mut sources);
    rust_files(&ws.join("src"), &mut sources);
    if fresh(&bin, &sources) {
        return bin;
    }
    let target_dir = profile_dir.parent().expect("<target>");
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("debug");
    let profile = if profile == "debug" { "dev" } else { profile };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "--example", name, "--profile"])
        .arg(profile)
        .env("CARGO_TARGET_DIR", target_dir);
    if let Err(e) = run(&mut cmd, &ws) {
        panic!("building the example {name} failed: {e}");
    }
    assert!(bin.exists(), "{} was not built", bin.display());
    bin
}
