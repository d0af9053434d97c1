//! Throughput and latency of the fake server: 10,000 `sendMessage` calls from 50 concurrent
//! keep-alive HTTP clients (reqwest), flood limits off. Server and clients share the process
//! (and the machine's cores), so the figures are a lower bound for the server alone.
//!
//! Run with `cargo bench -p hotline-testkit --bench send_message`.

use std::time::{Duration, Instant};

use hotline_testkit::{FakeTelegram, NewUser};

const CLIENTS: usize = 50;
const TOTAL: usize = 10_000;
const WARMUP_PER_CLIENT: usize = 20;

async fn run_client(client: reqwest::Client, url: String, chat_id: i64, n: usize) -> Vec<Duration> {
    let mut lat = Vec::with_capacity(n);
    for i in 0..n {
        let body =
            format!(r#"{{"chat_id":{chat_id},"text":"message number {i} from the benchmark"}}"#);
        let t0 = Instant::now();
        let resp = client
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        assert!(resp.status().is_success(), "status {}", resp.status());
        let bytes = resp.bytes().await.expect("body");
        lat.push(t0.elapsed());
        assert!(bytes.starts_with(br#"{"ok":true"#));
    }
    lat
}

async fn round(tg: &FakeTelegram, per_client: usize) -> (Duration, Vec<Duration>) {
    let url = format!("{}/bot{}/sendMessage", tg.api_url(), tg.token());
    let clients: Vec<reqwest::Client> = (0..CLIENTS)
        .map(|_| {
            reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .tcp_nodelay(true)
                .no_proxy()
                .build()
                .expect("client")
        })
        .collect();
    let t0 = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, c)| tokio::spawn(run_client(c, url.clone(), 10_000 + i as i64, per_client)))
        .collect();
    let mut all = Vec::with_capacity(per_client * CLIENTS);
    for t in tasks {
        all.extend(t.await.expect("client task"));
    }
    (t0.elapsed(), all)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn main() {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let tg = FakeTelegram::start("123:BENCH").await.expect("start");
        for i in 0..CLIENTS {
            tg.add_user(NewUser::new(10_000 + i as i64, "Bench"));
        }
        let _ = round(&tg, WARMUP_PER_CLIENT).await;
        let (elapsed, mut lat) = round(&tg, TOTAL / CLIENTS).await;
        lat.sort_unstable();
        let rps = lat.len() as f64 / elapsed.as_secs_f64();
        println!(
            "hotline-testkit sendMessage: {} calls, {CLIENTS} concurrent keep-alive clients, {threads} runtime threads",
            lat.len()
        );
        println!("  wall time  {:>8.3} s", elapsed.as_secs_f64());
        println!("  throughput {rps:>8.0} req/s");
        println!(
            "  latency    p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            pct(&lat, 0.50).as_secs_f64() * 1e3,
            pct(&lat, 0.90).as_secs_f64() * 1e3,
            pct(&lat, 0.99).as_secs_f64() * 1e3,
            lat[lat.len() - 1].as_secs_f64() * 1e3
        );
        // One client, one call at a time: the loopback round trip (no Nagle delay).
        let (_, mut seq) = {
            let client = reqwest::Client::builder().no_proxy().build().expect("client");
            let url = format!("{}/bot{}/sendMessage", tg.api_url(), tg.token());
            let t0 = Instant::now();
            let lat = run_client(client, url, 10_000, 1_000).await;
            (t0.elapsed(), lat)
        };
        seq.sort_unstable();
        println!(
            "  sequential single client, 1000 calls: p50 {:.3} ms, p99 {:.3} ms",
            pct(&seq, 0.50).as_secs_f64() * 1e3,
            pct(&seq, 0.99).as_secs_f64() * 1e3
        );
        let stored: usize = (0..CLIENTS)
            .map(|i| tg.messages(10_000 + i as i64).len())
            .sum();
        assert_eq!(stored, TOTAL + CLIENTS * WARMUP_PER_CLIENT + 1_000);
        tg.shutdown().await;
    });
}
