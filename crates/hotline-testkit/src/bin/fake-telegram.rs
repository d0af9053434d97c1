//! `fake-telegram`: runs the fake Telegram Bot API server until Ctrl-C.
//!
//! ```text
//! fake-telegram [--host 127.0.0.1] [--port 8081] [--token 123:ABC]
//!               [--user 1001:Ann]... [--group -1001000000001[:Support]] [--operator 2001:Olga]...
//! ```
//!
//! Prints the URL it listens on (e.g. `http://127.0.0.1:8081`). `--group` creates a forum
//! supergroup with the bot as admin; `--operator` adds a user and makes them a member of that
//! group; `--user` adds a user (and so the private chat with the bot).

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use hotline_testkit::{FakeTelegram, NewGroup, NewUser};

const USAGE: &str = "usage: fake-telegram [--host 127.0.0.1] [--port 8081] [--token 123:ABC] \
[--user ID:NAME]... [--group CHAT_ID[:TITLE]] [--operator ID:NAME]...";

struct Args {
    host: IpAddr,
    port: u16,
    token: String,
    users: Vec<(i64, String)>,
    group: Option<(i64, String)>,
    operators: Vec<(i64, String)>,
}

fn id_name(s: &str, default_name: &str) -> Result<(i64, String), String> {
    let (id, name) = match s.split_once(':') {
        Some((id, name)) => (id, name.to_owned()),
        None => (s, default_name.to_owned()),
    };
    let id = id.parse().map_err(|_| format!("not an id: {id}"))?;
    Ok((id, name))
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        host: IpAddr::from([127, 0, 0, 1]),
        port: 8081,
        token: "123:ABC".to_owned(),
        users: Vec::new(),
        group: None,
        operators: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--host" => a.host = value.parse().map_err(|_| format!("bad host: {value}"))?,
            "--port" => a.port = value.parse().map_err(|_| format!("bad port: {value}"))?,
            "--token" => a.token = value,
            "--user" => a.users.push(id_name(&value, "User")?),
            "--group" => a.group = Some(id_name(&value, "Support")?),
            "--operator" => a.operators.push(id_name(&value, "Operator")?),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(a)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("fake-telegram: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let addr = SocketAddr::new(args.host, args.port);
    let tg = match FakeTelegram::start_on(addr, &args.token).await {
        Ok(tg) => tg,
        Err(e) => {
            eprintln!("fake-telegram: {e}");
            return ExitCode::FAILURE;
        }
    };
    for (id, name) in &args.users {
        tg.add_user(NewUser::new(*id, name));
    }
    if let Some((id, title)) = &args.group {
        tg.add_group(NewGroup::forum(*id, title));
        for (uid, name) in &args.operators {
            tg.add_user(NewUser::new(*uid, name));
            if let Err(e) = tg.add_member(*id, *uid) {
                eprintln!("fake-telegram: {e}");
            }
        }
    }
    println!("{}", tg.api_url());
    let _ = tokio::signal::ctrl_c().await;
    tg.shutdown().await;
    ExitCode::SUCCESS
}
