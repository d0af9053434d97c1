//! End-to-end relay benchmark (issues 4 and 14): the whole desk (polling runner, desk, transport)
//! against the fake Telegram, compared with a minimal frankenstein bot doing the desk's job
//! (receiving by polling, a topic per user, a copy per message) and with the same number of bare
//! `copyMessage` calls from frankenstein, then the delivered rate into the backend group under
//! Telegram's limits on a scaled clock.
//!
//! The target is Hotline / minimal >= 1.0 (throughput, median of the rounds' ratios): the minimal
//! bot is the fair peer, doing the same job in the same run. Bare copies do less than the job (no
//! receiving, no topics inside the clock), so Hotline / bare is printed beside it as the ceiling,
//! not as a target.
//!
//! Run with `cargo bench --bench relay_e2e`; it prints its figures and panics if the desk loses,
//! duplicates or reorders a message. See `docs/benchmarks.md`.

use async_trait::async_trait;
use frankenstein::AsyncTelegramApi;
use frankenstein::client_reqwest::Bot;
use frankenstein::methods::{CopyMessageParams, CreateForumTopicParams, GetUpdatesParams};
use frankenstein::updates::UpdateContent;
use hotline::core::store::{Commit, UserClaim};
use hotline::core::{
    ChatId, Config, Conversation, EventKey, MemoryStore, MessageId, MessageLink, Origin, Store,
    StoreError, Timestamp, TopicId, UserId,
};
use hotline::telegram::{Hotline, Limits};
use hotline_testkit::{FakeTelegram, FloodLimits, NewGroup, NewMessage, NewUser};
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinHandle;

/// One allocator for the whole process, both phases: glibc's malloc takes an arena lock when a
/// block is freed on another thread than the one that allocated it, which a Tokio runtime does
/// all the time (tasks move between workers), and that lock turns into `futex` system calls on
/// every relayed message, a cost of the machine's allocator rather than of either contender.
/// Bots in production pick their allocator the same way; the library does not impose one.
///
/// mimalloc hands freed memory back to the system 10 ms after it is freed, by default, and
/// faults it in again, zeroed, at the next allocation: between two phases, and between two bursts
/// of one, the kernel would be zeroing pages rather than either client working (counts in
/// `docs/benchmarks.md`). A bot's heap stays
/// warm; so does the bench's: `MIMALLOC_PURGE_DELAY=-1` (see [`keep_the_heap_warm`]).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The allocator reads its options from the environment before `main` runs, so the bench runs
/// itself again with `MIMALLOC_PURGE_DELAY=-1` unless it was given a value. Returns the exit code
/// of that run, or `None` when this is it.
fn keep_the_heap_warm() -> Option<i32> {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return None;
    }
    let exe = std::env::current_exe().expect("the bench's own path");
    let status = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("MIMALLOC_PURGE_DELAY", "-1")
        .status()
        .expect("the bench runs again");
    Some(status.code().unwrap_or(1))
}

const TOKEN: &str = "777001:BENCH-secret-token-VALUE";
const GROUP: i64 = -1_001_000_000_777;
/// User ids are `USER_BASE + index`.
const USER_BASE: i64 = 100_000;
const USERS: usize = 1_000;
const PER_USER: usize = 10;
/// The polling runner keeps at most this many updates in flight (see `runner/polling.rs`).
const RUNNER_WINDOW: usize = 100;
/// Rounds of the desk against the bare client (`RELAY_E2E_ROUNDS` overrides).
const ROUNDS: usize = 15;

/// The store the desk uses (`MemoryStore`), noting when the link of each user message is
/// committed: right after the desk got the `copyMessage` answer, so the copy is in the topic.
/// Slot of a user message: `user index * per_user + (message_id - 1)`.
///
/// The times are nanoseconds since `epoch` in atomics (0: not copied yet), so that noting one
/// costs the desk no lock: the harness should weigh as little as it can on what it measures.
struct TimedStore {
    inner: MemoryStore,
    per_user: usize,
    epoch: Instant,
    copied_at: Vec<AtomicU64>,
    copied: AtomicUsize,
}

impl TimedStore {
    fn new(users: usize, per_user: usize) -> Self {
        Self {
            inner: MemoryStore::new(),
            per_user,
            epoch: Instant::now(),
            copied_at: (0..users * per_user).map(|_| AtomicU64::new(0)).collect(),
            copied: AtomicUsize::new(0),
        }
    }

    fn slot(&self, user: UserId, message: MessageId) -> usize {
        let index = usize::try_from(user.0 - USER_BASE).expect("a bench user");
        let n = usize::try_from(message.0 - 1).expect("a message id");
        assert!(n < self.per_user, "unexpected message id {}", message.0);
        index * self.per_user + n
    }

    fn times(&self) -> Vec<Option<Instant>> {
        self.copied_at
            .iter()
            .map(|at| match at.load(Ordering::Relaxed) {
                0 => None,
                nanos => Some(self.epoch + Duration::from_nanos(nanos)),
            })
            .collect()
    }
}

#[async_trait]
impl Store for TimedStore {
    async fn set_aside(
        &self,
        letter: hotline::core::NewDeadLetter,
    ) -> Result<hotline::core::store::SetAside, StoreError> {
        self.inner.set_aside(letter).await
    }

    async fn dead_letters(&self, limit: usize) -> Result<Vec<hotline::DeadLetter>, StoreError> {
        self.inner.dead_letters(limit).await
    }

    async fn dead_letter(
        &self,
        id: hotline::DeadLetterId,
    ) -> Result<Option<hotline::DeadLetter>, StoreError> {
        self.inner.dead_letter(id).await
    }

    async fn dead_letter_by_key(
        &self,
        key: &str,
    ) -> Result<Option<hotline::DeadLetter>, StoreError> {
        self.inner.dead_letter_by_key(key).await
    }

    async fn remove_dead_letter(&self, id: hotline::DeadLetterId) -> Result<bool, StoreError> {
        self.inner.remove_dead_letter(id).await
    }

    async fn append_updates(
        &self,
        updates: Vec<hotline::core::Fetched>,
        received: hotline::core::Timestamp,
    ) -> Result<Vec<hotline::core::LogId>, StoreError> {
        self.inner.append_updates(updates, received).await
    }

    async fn logged_updates(
        &self,
        after: hotline::core::LogId,
        limit: usize,
    ) -> Result<Vec<hotline::core::Logged>, StoreError> {
        self.inner.logged_updates(after, limit).await
    }

    async fn log_head(&self) -> Result<hotline::core::LogHead, StoreError> {
        self.inner.log_head().await
    }

    async fn consumer(&self, name: &str) -> Result<Option<hotline::core::Consumer>, StoreError> {
        self.inner.consumer(name).await
    }

    async fn register_consumer(
        &self,
        name: &str,
        start: hotline::core::LogId,
    ) -> Result<hotline::core::Consumer, StoreError> {
        self.inner.register_consumer(name, start).await
    }

    async fn confirm_updates(
        &self,
        name: &str,
        upto: hotline::core::LogId,
    ) -> Result<(), StoreError> {
        self.inner.confirm_updates(name, upto).await
    }

    async fn save_consumer_settings(
        &self,
        name: &str,
        settings: Option<String>,
    ) -> Result<(), StoreError> {
        self.inner.save_consumer_settings(name, settings).await
    }

    async fn prune_updates(&self, expired: hotline::core::Timestamp) -> Result<u64, StoreError> {
        self.inner.prune_updates(expired).await
    }

    async fn conversation(&self, user: UserId) -> Result<Option<Conversation>, StoreError> {
        self.inner.conversation(user).await
    }

    async fn conversation_by_topic(
        &self,
        topic: TopicId,
    ) -> Result<Option<Conversation>, StoreError> {
        self.inner.conversation_by_topic(topic).await
    }

    async fn commit(&self, commit: Commit) -> Result<(), StoreError> {
        let relayed: Vec<(UserId, MessageId)> = commit
            .links
            .iter()
            .filter(|l| l.origin == Origin::User)
            .map(|l| (l.user, l.user_message))
            .collect();
        self.inner.commit(commit).await?;
        if !relayed.is_empty() {
            let now = u64::try_from(self.epoch.elapsed().as_nanos()).expect("nanoseconds");
            for (user, message) in relayed {
                let slot = &self.copied_at[self.slot(user, message)];
                assert!(
                    slot.compare_exchange(0, now.max(1), Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok(),
                    "user {} message {} relayed twice",
                    user.0,
                    message.0
                );
                self.copied.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    async fn link_by_user_message(
        &self,
        user: UserId,
        message: MessageId,
    ) -> Result<Option<MessageLink>, StoreError> {
        self.inner.link_by_user_message(user, message).await
    }

    async fn link_by_topic_message(
        &self,
        message: MessageId,
    ) -> Result<Option<MessageLink>, StoreError> {
        self.inner.link_by_topic_message(message).await
    }

    async fn is_processed(&self, key: &EventKey) -> Result<bool, StoreError> {
        self.inner.is_processed(key).await
    }

    async fn due_for_autoclose(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        self.inner.due_for_autoclose(before, limit).await
    }

    async fn claim_user(&self, user: UserId) -> Result<UserClaim, StoreError> {
        self.inner.claim_user(user).await
    }
}

/// A fake Telegram with the forum group and `users` users.
async fn fake(users: usize) -> FakeTelegram {
    let tg = FakeTelegram::start(TOKEN).await.expect("fake telegram");
    tg.add_group(NewGroup::forum(GROUP, "Support"));
    for i in 0..users {
        tg.add_user(NewUser::new(USER_BASE + i as i64, &format!("User {i}")));
    }
    tg
}

struct Running {
    hotline: Hotline,
    store: Arc<TimedStore>,
    stop: oneshot::Sender<()>,
    runner: JoinHandle<Result<(), hotline::telegram::Error>>,
}

/// The desk, built (its HTTP client included) but not started: building is set-up, not relaying,
/// and the bare client's is not timed either.
fn build_desk(
    tg: &FakeTelegram,
    users: usize,
    per_user: usize,
    limits: Limits,
) -> (Hotline, Arc<TimedStore>) {
    let config = Config::builder(ChatId(GROUP))
        .set("WELCOME", "OFF")
        .expect("WELCOME")
        .build()
        .expect("config");
    let store = Arc::new(TimedStore::new(users, per_user));
    let hotline = Hotline::builder(TOKEN, config)
        .api_url(tg.api_url())
        .limits(limits)
        .store(store.clone())
        .build()
        .expect("hotline");
    (hotline, store)
}

/// Starts the polling runner.
fn start((hotline, store): (Hotline, Arc<TimedStore>)) -> Running {
    let (stop, stopped) = oneshot::channel::<()>();
    let runner = {
        let hotline = hotline.clone();
        tokio::spawn(async move {
            hotline
                .run_polling(async {
                    let _ = stopped.await;
                })
                .await
        })
    };
    Running {
        hotline,
        store,
        stop,
        runner,
    }
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(30), self.runner)
            .await
            .expect("the runner stops")
            .expect("runner task")
            .expect("the runner exits cleanly");
        drop(self.hotline);
    }
}

fn text(user: usize, n: usize) -> String {
    format!("u{user} m{n}")
}

/// Every user's message `n` in turn: message 0 of every user, then message 1, ... (a thousand
/// users writing at once). Returns the injection time of each slot.
fn inject(tg: &FakeTelegram, users: usize, per_user: usize) -> Vec<Instant> {
    let mut at = vec![None; users * per_user];
    for n in 0..per_user {
        for u in 0..users {
            let id = USER_BASE + u as i64;
            let msg = tg
                .send_message(NewMessage::text(id, id, &text(u, n)))
                .expect("user message");
            assert_eq!(msg["message_id"].as_i64(), Some(n as i64 + 1));
            at[u * per_user + n] = Some(Instant::now());
        }
    }
    at.into_iter().map(|t| t.expect("injected")).collect()
}

/// Checks the group: one topic per user, every message copied once, in order, in its topic.
fn check_group(tg: &FakeTelegram, users: usize, per_user: usize) {
    let topics = tg.topics(GROUP);
    assert_eq!(topics.len(), users, "one topic per user");
    assert!(topics.iter().all(|t| !t.deleted && !t.is_closed));
    let mut by_topic: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    let mut copies = 0;
    for m in tg.messages(GROUP) {
        let Some(text) = m.get("text").and_then(Value::as_str) else {
            continue;
        };
        let thread = m["message_thread_id"].as_i64().expect("a topic message");
        by_topic.entry(thread).or_default().push(text.to_owned());
        copies += 1;
    }
    assert_eq!(copies, users * per_user, "every message copied once");
    assert_eq!(by_topic.len(), users, "copies spread over every topic");
    for texts in by_topic.values() {
        let user: usize = texts[0]
            .strip_prefix('u')
            .and_then(|s| s.split(' ').next())
            .and_then(|s| s.parse().ok())
            .expect("a bench text");
        let expected: Vec<String> = (0..per_user).map(|n| text(user, n)).collect();
        assert_eq!(texts, &expected, "topic of user {user} in order");
    }
}

/// The median of `values` (the upper one of an even count), sorting them.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

struct Figures {
    throughput: f64,
    wall: Duration,
    latencies: Vec<Duration>,
    /// Processor time of the whole process (client and fake server) during the phase.
    cpu: Duration,
}

/// Processor time used by this process so far: the sum of its threads' time on a processor,
/// from `/proc/self/task/*/schedstat`; zero where there is no such file.
fn cpu_time() -> Duration {
    // Each thread's time on a processor, in nanoseconds (the first field of its schedstat):
    // /proc/self/stat counts in clock ticks, too coarse for a phase that lasts a fraction of a
    // second.
    let Ok(threads) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    let nanos: u64 = threads
        .flatten()
        .filter_map(|thread| std::fs::read_to_string(thread.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(nanos)
}

impl Figures {
    fn cpu_per_message(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.latencies.len() as f64
    }

    fn print(&self, what: &str) {
        let l = &self.latencies;
        let cpu = if self.cpu.is_zero() {
            String::new()
        } else {
            format!(", {:.0} us CPU per message", self.cpu_per_message())
        };
        println!(
            "{what}: {} messages in {:.3} s = {:.0} msg/s{cpu}; \
             latency p50 {}, p90 {}, p99 {}, max {}",
            l.len(),
            self.wall.as_secs_f64(),
            self.throughput,
            ms(percentile(l, 50.0)),
            ms(percentile(l, 90.0)),
            ms(percentile(l, 99.0)),
            ms(*l.last().expect("latencies")),
        );
    }
}

fn figures(start: Instant, end: Instant, mut latencies: Vec<Duration>, cpu: Duration) -> Figures {
    latencies.sort();
    let wall = end - start;
    Figures {
        throughput: latencies.len() as f64 / wall.as_secs_f64(),
        wall,
        latencies,
        cpu,
    }
}

async fn wait_copied(store: &TimedStore, target: usize, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while store.copied.load(Ordering::Relaxed) < target {
        assert!(
            Instant::now() < deadline,
            "only {} of {target} messages relayed",
            store.copied.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// 1,000 users × 10 messages through the polling runner, limits off. As for the bare client, the
/// users' messages are waiting at the fake Telegram (injected, untimed) when the clock starts:
/// the phase times the desk from its start to the last copy, topics included. Latencies are
/// counted from the desk's start (queueing included); the paced phase measures relay latency.
async fn hotline_burst() -> Figures {
    let tg = fake(USERS).await;
    inject(&tg, USERS, PER_USER);
    let built = build_desk(&tg, USERS, PER_USER, Limits::off());
    let cpu = cpu_time();
    let start = Instant::now();
    let desk = self::start(built);
    wait_copied(&desk.store, USERS * PER_USER, Duration::from_secs(120)).await;
    let cpu = cpu_time() - cpu;
    let copied = desk.store.times();
    let latencies: Vec<Duration> = copied.iter().map(|c| c.expect("copied") - start).collect();
    let end = copied.iter().flatten().max().copied().expect("copies");
    desk.stop().await;
    check_group(&tg, USERS, PER_USER);
    let stats = tg.stats();
    assert_eq!(stats.calls_of("createForumTopic"), USERS as u64);
    assert_eq!(stats.calls_of("copyMessage"), (USERS * PER_USER) as u64);
    println!(
        "hotline: {} getUpdates calls delivered {} updates for {} messages",
        stats.calls_of("getUpdates"),
        stats.updates_delivered,
        USERS * PER_USER,
    );
    tg.shutdown().await;
    figures(start, end, latencies, cpu)
}

/// Relay latency at a load the desk keeps up with: 200 users × 5 messages, one message every
/// millisecond (1,000 msg/s).
async fn hotline_paced() -> Figures {
    let (users, per_user) = (200, 5);
    let tg = fake(users).await;
    let desk = start(build_desk(&tg, users, per_user, Limits::off()));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut injected = vec![None; users * per_user];
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    for n in 0..per_user {
        for u in 0..users {
            tick.tick().await;
            let id = USER_BASE + u as i64;
            tg.send_message(NewMessage::text(id, id, &text(u, n)))
                .expect("user message");
            injected[u * per_user + n] = Some(Instant::now());
        }
    }
    wait_copied(&desk.store, users * per_user, Duration::from_secs(60)).await;
    let injected: Vec<Instant> = injected.into_iter().flatten().collect();
    let copied = desk.store.times();
    let latencies: Vec<Duration> = copied
        .iter()
        .zip(&injected)
        .map(|(c, i)| c.expect("copied") - *i)
        .collect();
    let end = copied.iter().flatten().max().copied().expect("copies");
    desk.stop().await;
    check_group(&tg, users, per_user);
    tg.shutdown().await;
    // Processor time is not shown here: at this load it is mostly timers and idle polling.
    figures(injected[0], end, latencies, Duration::ZERO)
}

/// The same 10,000 copies made directly with frankenstein, one topic per user created
/// beforehand. Each user's copies go one after another (as the desk keeps a user's order); at
/// most `concurrency` calls are in flight.
async fn bare(concurrency: usize) -> Figures {
    let tg = fake(USERS).await;
    // The users' messages, not timed; their cost is shown, as the desk's phase includes it.
    let (cpu, wall) = (cpu_time(), Instant::now());
    inject(&tg, USERS, PER_USER);
    println!(
        "injecting {} messages through the control plane alone: {:.0} us CPU per message, {} wall",
        USERS * PER_USER,
        (cpu_time() - cpu).as_secs_f64() * 1e6 / (USERS * PER_USER) as f64,
        ms(wall.elapsed()),
    );
    let bot = Bot::new_url(format!("{}/bot{}", tg.api_url(), TOKEN));
    // The topics, not timed; made with the same concurrency, so the client's connection pool is
    // as warm as it will need to be.
    let limit = Arc::new(Semaphore::new(concurrency));
    let mut tasks = Vec::new();
    for u in 0..USERS {
        let (bot, limit) = (bot.clone(), limit.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire().await.expect("permit");
            let params = CreateForumTopicParams::builder()
                .chat_id(GROUP)
                .name(format!("User {u}"))
                .build();
            bot.create_forum_topic(&params)
                .await
                .expect("createForumTopic")
                .result
                .message_thread_id
        }));
    }
    let mut topics = Vec::new();
    for t in tasks {
        topics.push(t.await.expect("topic task"));
    }
    let limit = Arc::new(Semaphore::new(concurrency));
    let cpu = cpu_time();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (u, topic) in topics.into_iter().enumerate() {
        let (bot, limit) = (bot.clone(), limit.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(PER_USER);
            for n in 0..PER_USER {
                let _permit = limit.acquire().await.expect("permit");
                let params = CopyMessageParams::builder()
                    .chat_id(GROUP)
                    .message_thread_id(topic)
                    .from_chat_id(USER_BASE + u as i64)
                    .message_id(n as i32 + 1)
                    .build();
                let sent = Instant::now();
                bot.copy_message(&params).await.expect("copyMessage");
                latencies.push(sent.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.expect("copy task"));
    }
    let end = Instant::now();
    let cpu = cpu_time() - cpu;
    check_group(&tg, USERS, PER_USER);
    tg.shutdown().await;
    figures(start, end, latencies, cpu)
}

/// The desk's job done by the least a frankenstein bot can write for it, as a yardstick for the
/// desk's own cost: the same polling as the runner (at most 100 updates in hand, the offset moved
/// past finished ones only, asking again once three quarters are free), each update on a task
/// of its own, each user's topic created at their first message and each message copied into
/// it, one user's messages in order (a lock per user, taken in update order). No store, no
/// policy, no retries, no decoding beyond frankenstein's own `Update`.
async fn minimal_bot() -> Figures {
    let tg = fake(USERS).await;
    inject(&tg, USERS, PER_USER);
    let bot = Bot::new_url(format!("{}/bot{}", tg.api_url(), TOKEN));
    // Each user's topic, once made; the lock keeps the user's copies in update order (Tokio's
    // mutex queues its waiters in order, and tasks take it in the order they were spawned).
    let topics: Arc<Vec<tokio::sync::Mutex<Option<i32>>>> =
        Arc::new((0..USERS).map(|_| tokio::sync::Mutex::new(None)).collect());
    let (cpu, start) = (cpu_time(), Instant::now());
    let mut offset: i64 = 0;
    // update_id → finished? for every update at or after the offset, as in the runner.
    let mut in_hand: BTreeMap<i64, bool> = BTreeMap::new();
    let mut tasks = tokio::task::JoinSet::new();
    let mut latencies = Vec::with_capacity(USERS * PER_USER);
    while latencies.len() < USERS * PER_USER {
        loop {
            while let Some((&id, &true)) = in_hand.first_key_value() {
                in_hand.remove(&id);
                offset = id + 1;
            }
            if in_hand.len() <= RUNNER_WINDOW / 4 {
                break;
            }
            let id = tasks.join_next().await.expect("a task").expect("task");
            in_hand.insert(id, true);
            latencies.push(start.elapsed());
        }
        let params = GetUpdatesParams::builder()
            .offset(offset)
            .limit(RUNNER_WINDOW as u32)
            .timeout(0)
            .build();
        let mut new = 0;
        for update in bot.get_updates(&params).await.expect("getUpdates").result {
            let id = i64::from(update.update_id);
            if id < offset || in_hand.contains_key(&id) {
                continue; // still in hand: delivered again
            }
            let UpdateContent::Message(message) = update.content else {
                panic!("only users' messages are sent");
            };
            new += 1;
            in_hand.insert(id, false);
            let (bot, topics) = (bot.clone(), topics.clone());
            tasks.spawn(async move {
                let user = message.chat.id;
                let index = usize::try_from(user - USER_BASE).expect("a bench user");
                let mut topic = topics[index].lock().await;
                let thread = match *topic {
                    Some(thread) => thread,
                    None => {
                        let params = CreateForumTopicParams::builder()
                            .chat_id(GROUP)
                            .name(format!("User {index}"))
                            .build();
                        let made = bot.create_forum_topic(&params).await.expect("topic");
                        *topic.insert(made.result.message_thread_id)
                    }
                };
                let params = CopyMessageParams::builder()
                    .chat_id(GROUP)
                    .message_thread_id(thread)
                    .from_chat_id(user)
                    .message_id(message.message_id)
                    .build();
                bot.copy_message(&params).await.expect("copyMessage");
                id
            });
        }
        // Everything delivered was in hand already: wait for one to finish before asking again.
        if new == 0
            && let Some(id) = tasks.join_next().await
        {
            in_hand.insert(id.expect("task"), true);
            latencies.push(start.elapsed());
        }
    }
    let (end, cpu) = (Instant::now(), cpu_time() - cpu);
    check_group(&tg, USERS, PER_USER);
    tg.shutdown().await;
    figures(start, end, latencies, cpu)
}

/// How the floor's updates are read.
#[derive(Clone, Copy)]
enum Decode {
    /// Into frankenstein's `Update`, as a bot (and the desk) must to act on them.
    Typed,
    /// Only each update's id read, the rest left as raw JSON text: the HTTP exchange alone.
    IdsOnly,
}

/// What any frankenstein bot pays to receive the 10,000 messages by long polling: `getUpdates`
/// calls of 100, each batch confirmed by the next call, nothing else done. This is a floor for
/// the desk, which must also receive every message before it can copy it.
async fn receive_floor(decode: Decode) -> Figures {
    let tg = fake(USERS).await;
    inject(&tg, USERS, PER_USER);
    let bot = Bot::new_url(format!("{}/bot{}", tg.api_url(), TOKEN));
    let (cpu, start) = (cpu_time(), Instant::now());
    let mut offset = 0;
    let mut latencies = Vec::with_capacity(USERS * PER_USER);
    while latencies.len() < USERS * PER_USER {
        let params = GetUpdatesParams::builder()
            .offset(offset)
            .limit(100)
            .timeout(0)
            .build();
        let ids: Vec<i64> = match decode {
            Decode::Typed => {
                let updates = bot.get_updates(&params).await.expect("getUpdates").result;
                updates
                    .iter()
                    .map(|u| {
                        assert!(matches!(u.content, UpdateContent::Message(_)));
                        i64::from(u.update_id)
                    })
                    .collect()
            }
            Decode::IdsOnly => {
                #[derive(serde::Deserialize)]
                struct Id {
                    update_id: i64,
                }
                let raw: frankenstein::response::MethodResponse<Vec<Box<RawValue>>> = bot
                    .request("getUpdates", Some(&params))
                    .await
                    .expect("getUpdates");
                raw.result
                    .iter()
                    .map(|u| {
                        serde_json::from_str::<Id>(u.get())
                            .expect("an id")
                            .update_id
                    })
                    .collect()
            }
        };
        let received = start.elapsed();
        for id in ids {
            offset = id + 1;
            latencies.push(received);
        }
    }
    let (end, cpu) = (Instant::now(), cpu_time() - cpu);
    tg.shutdown().await;
    figures(start, end, latencies, cpu)
}

/// Under Telegram's limits on a clock 60 times faster: 50 users × 4 messages, all at once.
async fn limited() {
    const SCALE: f64 = 60.0;
    let (users, per_user) = (50, 4);
    let group_calls = users * (1 + per_user);
    let tg = fake(users).await;
    tg.set_limits(FloodLimits {
        global_per_second: Some(30),
        per_chat_per_second: Some(1),
        per_group_per_minute: Some(20),
        time_scale: Some(SCALE),
    });
    let desk = start(build_desk(
        &tg,
        users,
        per_user,
        Limits::telegram().with_time_scale(SCALE),
    ));
    tokio::time::sleep(Duration::from_millis(200)).await;
    inject(&tg, users, per_user);
    // When each group call was made (seen by polling the fake's counters every 2 ms).
    let mut seen: Vec<Instant> = Vec::with_capacity(group_calls);
    let deadline = Instant::now() + Duration::from_secs(120);
    while seen.len() < group_calls {
        let stats = tg.stats();
        let made = [
            "createForumTopic",
            "copyMessage",
            "copyMessages",
            "sendMessage",
            "editForumTopic",
        ]
        .iter()
        .map(|m| stats.calls_of(m))
        .sum::<u64>()
            - stats.too_many_requests;
        let now = Instant::now();
        while (seen.len() as u64) < made {
            seen.push(now);
        }
        assert!(now < deadline, "only {} group calls made", seen.len());
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    wait_copied(&desk.store, users * per_user, Duration::from_secs(10)).await;
    desk.stop().await;
    check_group(&tg, users, per_user);
    let stats = tg.stats();
    let budget = 20.0 * SCALE / 60.0;
    let span = seen[seen.len() - 1] - seen[0];
    let rate = (seen.len() - 1) as f64 / span.as_secs_f64();
    // Whole windows: the group's budget lets 20 calls go at once, then 20 more per window, so
    // the calls from the first to the 1 + 20k-th span exactly k windows.
    let whole = (seen.len() - 1) / 20 * 20;
    let whole_span = seen[whole] - seen[0];
    let steady = whole as f64 / whole_span.as_secs_f64();
    println!(
        "limited (time_scale {SCALE}): {} group calls ({users} topics + {} copies) from first to last in {:.3} s",
        seen.len(),
        users * per_user,
        span.as_secs_f64(),
    );
    println!(
        "limited: budget {budget:.1} calls/s; (n-1)/span = {rate:.2} calls/s = {:.1}% of budget; \
         whole windows ({whole} calls in {:.3} s) = {steady:.2} calls/s = {:.1}% of budget; \
         429s sent by the fake: {}",
        100.0 * rate / budget,
        whole_span.as_secs_f64(),
        100.0 * steady / budget,
        stats.too_many_requests,
    );
    tg.shutdown().await;
}

/// What takes turns in the rounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Contender {
    /// The desk, by polling ([`hotline_burst`]).
    Hotline,
    /// The copies alone, from frankenstein, 100 in flight ([`bare`]).
    Bare,
    /// The desk's job done by a minimal frankenstein bot ([`minimal_bot`]).
    Minimal,
}

impl Contender {
    const ALL: [Contender; 3] = [Contender::Hotline, Contender::Bare, Contender::Minimal];
    /// The ratios printed: the target (against the fair peer) first, then the ceiling.
    const PAIRS: [(Contender, Contender); 3] = [
        (Contender::Hotline, Contender::Minimal),
        (Contender::Hotline, Contender::Bare),
        (Contender::Minimal, Contender::Bare),
    ];

    /// Its name in `RELAY_E2E_PHASES` and in the ratios.
    fn phase(self) -> &'static str {
        match self {
            Contender::Hotline => "hotline",
            Contender::Bare => "bare",
            Contender::Minimal => "minimal",
        }
    }

    fn label(self) -> String {
        match self {
            Contender::Hotline => "hotline (burst, limits off)".into(),
            Contender::Bare => {
                format!("bare copyMessage ({RUNNER_WINDOW} in flight, per-user order)")
            }
            Contender::Minimal => "minimal frankenstein bot (polling, topics, copies)".into(),
        }
    }

    async fn run(self) -> Figures {
        match self {
            Contender::Hotline => hotline_burst().await,
            Contender::Bare => bare(RUNNER_WINDOW).await,
            Contender::Minimal => minimal_bot().await,
        }
    }
}

fn main() {
    if let Some(code) = keep_the_heap_warm() {
        std::process::exit(code);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // RELAY_E2E_PHASES=hotline,bare,minimal,bare1000,floor,paced,limited picks phases (all by default), for profiling.
    let phases = std::env::var("RELAY_E2E_PHASES").unwrap_or_default();
    let run = |phase: &str| phases.is_empty() || phases.split(',').any(|p| p == phase);
    runtime.block_on(async {
        println!(
            "relay_e2e: {USERS} users x {PER_USER} messages, fake Telegram in-process, 2 worker threads"
        );
        // The machine is shared and its speed drifts from one second to the next: the
        // contenders take turns within each round, in an order that rotates from round to round
        // (so that none always runs on the heels of another), and each ratio's figure is the
        // median of the rounds' ratios.
        let rounds: usize = std::env::var("RELAY_E2E_ROUNDS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(ROUNDS);
        let contenders: Vec<Contender> = Contender::ALL
            .into_iter()
            .filter(|c| run(c.phase()))
            .collect();
        // One untimed round first: the first phase of the process would otherwise also pay for
        // its cold start (the heap's first pages, code and connections never used yet).
        if contenders.len() > 1 {
            for contender in &contenders {
                let _ = contender.run().await;
            }
        }
        // For each pair (a, b): a's throughput over b's, and b's processor time per message
        // over a's, one of each per round.
        let mut ratios: BTreeMap<(Contender, Contender), (Vec<f64>, Vec<f64>)> = BTreeMap::new();
        let mut bare_cpu = Vec::new();
        for round in 1..=rounds {
            let mut order = contenders.clone();
            order.rotate_left(round % contenders.len().max(1));
            let mut results = BTreeMap::new();
            for contender in order.iter().copied() {
                results.insert(contender, contender.run().await);
            }
            for (contender, figures) in &results {
                figures.print(&format!("[{round}] {}", contender.label()));
            }
            if let Some(bare) = results.get(&Contender::Bare) {
                bare_cpu.push(bare.cpu_per_message());
            }
            for (a, b) in Contender::PAIRS {
                let (Some(fa), Some(fb)) = (results.get(&a), results.get(&b)) else {
                    continue;
                };
                let (ratio, cpu_ratio) = (
                    fa.throughput / fb.throughput,
                    fb.cpu_per_message() / fa.cpu_per_message(),
                );
                println!(
                    "[{round}] ratio {} / {} = {ratio:.3}; processor time per message {} / {} = \
                     {cpu_ratio:.3} (order {order:?})",
                    a.phase(),
                    b.phase(),
                    b.phase(),
                    a.phase(),
                );
                let entry = ratios.entry((a, b)).or_default();
                entry.0.push(ratio);
                entry.1.push(cpu_ratio);
            }
        }
        // In the order of `PAIRS` (the map would sort them by contender).
        for (a, b) in Contender::PAIRS {
            let Some((mut throughput, mut cpu)) = ratios.remove(&(a, b)) else {
                continue;
            };
            let (ratio, cpu_ratio) = (median(&mut throughput), median(&mut cpu));
            let (what, goal) = match (a, b) {
                (Contender::Hotline, Contender::Minimal) => (
                    "RATIO hotline / minimal (the fair peer)".to_owned(),
                    "target >= 1.0; ",
                ),
                (Contender::Hotline, Contender::Bare) => (
                    format!("ratio hotline / bare ({RUNNER_WINDOW} in flight)"),
                    "the ceiling, not a target; ",
                ),
                _ => (format!("ratio {} / {}", a.phase(), b.phase()), ""),
            };
            println!(
                "{what}, median of {rounds}: {ratio:.3} ({goal}rounds {throughput:.3?}); \
                 processor time per message {} / {}, median: {cpu_ratio:.3}",
                b.phase(),
                a.phase(),
            );
        }
        // Once, after the rounds (they would otherwise disturb them): the bare client with every
        // user's copies at once, and the floor under any polling desk.
        if run("bare1000") {
            bare(USERS)
                .await
                .print(&format!("bare copyMessage ({USERS} in flight, per-user order)"));
        }
        if run("floor") && !bare_cpu.is_empty() {
            // The most the ratio can be, for any desk that receives each message by polling and
            // makes a call per message plus one per user: bare's processor time per message over
            // those calls' plus the receiving floor's.
            receive_floor(Decode::IdsOnly)
                .await
                .print("receive floor (getUpdates, ids only)");
            let floor = receive_floor(Decode::Typed).await;
            floor.print("receive floor (getUpdates, typed)");
            let bare_cpu = median(&mut bare_cpu);
            let calls = 1.0 + USERS as f64 / (USERS * PER_USER) as f64;
            println!(
                "ceiling: bare {bare_cpu:.0} us per call (median); a desk pays {calls:.1} calls \
                 ({:.0} us) + receiving ({:.0} us) per message: processor-time ratio at most {:.3}",
                calls * bare_cpu,
                floor.cpu_per_message(),
                bare_cpu / (calls * bare_cpu + floor.cpu_per_message()),
            );
        }
        if run("paced") {
            hotline_paced()
                .await
                .print("hotline (paced at 1,000 msg/s, limits off)");
        }
        if run("limited") {
            limited().await;
        }
    });
}
