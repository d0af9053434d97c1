//! Flood limits (sliding windows on a scaled clock) and fault injection.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::model::{Fault, FloodLimits};
use crate::params::ApiError;

/// Sliding-window counters for the flood limits.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    global: VecDeque<Instant>,
    per_chat: HashMap<i64, VecDeque<Instant>>,
}

impl Limiter {
    /// Checks one counted call into `chat_id`; records it when allowed. Private chats have
    /// positive ids, groups negative ones. The error carries `retry_after`: the wall-clock
    /// seconds until the call fits in every window again, rounded up, at least 1. Rounding up
    /// is what makes it a promise: a client that waits that long finds room (unless another
    /// call took it meanwhile).
    pub(crate) fn check(
        &mut self,
        limits: &FloodLimits,
        chat_id: i64,
        now: Instant,
    ) -> Result<(), u64> {
        let scale = time_scale(limits);
        let second = Duration::from_secs_f64(1.0 / scale);
        let minute = Duration::from_secs_f64(60.0 / scale);
        let chat_rule = if chat_id > 0 {
            limits.per_chat_per_second.map(|n| (n, second))
        } else {
            limits.per_group_per_minute.map(|n| (n, minute))
        };
        let mut wait: Option<Duration> = None;
        if let Some(n) = limits.global_per_second
            && let Some(w) = over(&mut self.global, n, second, now)
        {
            wait = Some(wait.map_or(w, |x| x.max(w)));
        }
        if let Some((n, window)) = chat_rule {
            let q = self.per_chat.entry(chat_id).or_default();
            if let Some(w) = over(q, n, window, now) {
                wait = Some(wait.map_or(w, |x| x.max(w)));
            }
        }
        if let Some(w) = wait {
            return Err((w.as_secs_f64().ceil() as u64).max(1));
        }
        if limits.global_per_second.is_some() {
            self.global.push_back(now);
        }
        if chat_rule.is_some() {
            self.per_chat.entry(chat_id).or_default().push_back(now);
        }
        Ok(())
    }

    pub(crate) fn reset(&mut self) {
        self.global.clear();
        self.per_chat.clear();
    }
}

/// The effective time scale (1 when unset or not positive).
pub(crate) fn time_scale(limits: &FloodLimits) -> f64 {
    match limits.time_scale {
        Some(s) if s.is_finite() && s > 0.0 => s,
        _ => 1.0,
    }
}

fn over(q: &mut VecDeque<Instant>, limit: u32, window: Duration, now: Instant) -> Option<Duration> {
    while let Some(front) = q.front() {
        if now.duration_since(*front) >= window {
            q.pop_front();
        } else {
            break;
        }
    }
    if q.len() >= limit as usize {
        let oldest = q.front().copied().unwrap_or(now);
        Some((oldest + window).saturating_duration_since(now))
    } else {
        None
    }
}

/// An injected fault and how many more calls it applies to.
#[derive(Debug)]
pub(crate) struct FaultRec {
    pub(crate) fault: Fault,
    pub(crate) remaining: Option<u32>,
}

/// What faults do to one call: latency adds up; of the outcomes (drop before acting, drop
/// after acting, an error answer) the first matching fault's wins.
#[derive(Debug, Default)]
pub(crate) struct FaultAction {
    pub(crate) latency: Option<Duration>,
    pub(crate) drop_connection: bool,
    pub(crate) drop_after_acting: bool,
    pub(crate) error: Option<ApiError>,
}

impl FaultAction {
    fn has_outcome(&self) -> bool {
        self.drop_connection || self.drop_after_acting || self.error.is_some()
    }
}

/// Picks the faults that apply to a call of `method` (canonical name) whose `chat_id`
/// parameter is `chat_id`, and counts them down.
pub(crate) fn pick_faults(
    faults: &mut Vec<FaultRec>,
    method: &str,
    chat_id: Option<i64>,
    rng: &mut u64,
) -> Option<FaultAction> {
    let mut action: Option<FaultAction> = None;
    for rec in faults.iter_mut() {
        if let Some(m) = &rec.fault.method
            && !m.eq_ignore_ascii_case(method)
        {
            continue;
        }
        if rec.fault.chat_id.is_some() && rec.fault.chat_id != chat_id {
            continue;
        }
        if rec.remaining == Some(0) {
            continue;
        }
        if let Some(ratio) = rec.fault.ratio
            && next_f64(rng) >= ratio
        {
            continue;
        }
        if let Some(r) = rec.remaining.as_mut() {
            *r -= 1;
        }
        let a = action.get_or_insert_with(FaultAction::default);
        if let Some(ms) = rec.fault.latency_ms {
            a.latency = Some(a.latency.unwrap_or_default() + Duration::from_millis(ms));
        }
        if a.has_outcome() {
            continue;
        }
        if rec.fault.drop_connection {
            a.drop_connection = true;
        } else if rec.fault.drop_after_acting {
            a.drop_after_acting = true;
        } else if let Some(code) = rec.fault.error_code {
            a.error = Some(fault_error(&rec.fault, code));
        }
    }
    faults.retain(|r| r.remaining != Some(0));
    action
}

fn fault_error(f: &Fault, code: u16) -> ApiError {
    let description = f.description.clone().unwrap_or_else(|| match code {
        400 => "Bad Request".to_owned(),
        401 => "Unauthorized".to_owned(),
        403 => "Forbidden".to_owned(),
        404 => "Not Found".to_owned(),
        409 => "Conflict".to_owned(),
        429 => format!(
            "Too Many Requests: retry after {}",
            f.retry_after.unwrap_or(1)
        ),
        500 => "Internal Server Error".to_owned(),
        502 => "Bad Gateway".to_owned(),
        503 => "Service Unavailable".to_owned(),
        504 => "Gateway Timeout".to_owned(),
        _ => format!("Error {code}"),
    });
    let retry_after = f.retry_after.or(if code == 429 { Some(1) } else { None });
    let mut parameters = serde_json::Map::new();
    if let Some(s) = retry_after {
        parameters.insert("retry_after".into(), serde_json::json!(s));
    }
    if let Some(id) = f.migrate_to_chat_id {
        parameters.insert("migrate_to_chat_id".into(), serde_json::json!(id));
    }
    ApiError {
        code,
        description,
        parameters: (!parameters.is_empty()).then_some(serde_json::Value::Object(parameters)),
    }
}

/// xorshift64*: deterministic, good enough for fault ratios.
pub(crate) fn next_f64(state: &mut u64) -> f64 {
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
    (r >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_window_scales_and_retry_after_is_in_wall_clock_seconds() {
        let limits = FloodLimits {
            per_group_per_minute: Some(2),
            time_scale: Some(60.0),
            ..FloodLimits::default()
        };
        let mut l = Limiter::default();
        let t0 = Instant::now();
        assert!(l.check(&limits, -100, t0).is_ok());
        assert!(l.check(&limits, -100, t0).is_ok());
        // The window is 60 Telegram seconds = 1 wall second; all of it remains.
        assert_eq!(l.check(&limits, -100, t0), Err(1));
        // Half a wall second remains: rounded up to 1, never 0.
        assert_eq!(
            l.check(&limits, -100, t0 + Duration::from_millis(500)),
            Err(1)
        );
        // Once retry_after has passed, the call is accepted.
        assert!(l.check(&limits, -100, t0 + Duration::from_secs(1)).is_ok());
        // Another group has its own budget.
        assert!(l.check(&limits, -200, t0).is_ok());
    }

    #[test]
    fn a_slow_clock_gives_long_waits_rounded_up() {
        // time_scale 0.25: one Telegram second lasts four wall seconds.
        let limits = FloodLimits {
            per_chat_per_second: Some(1),
            time_scale: Some(0.25),
            ..FloodLimits::default()
        };
        let mut l = Limiter::default();
        let t0 = Instant::now();
        assert!(l.check(&limits, 7, t0).is_ok());
        assert_eq!(l.check(&limits, 7, t0 + Duration::from_millis(100)), Err(4));
        assert_eq!(
            l.check(&limits, 7, t0 + Duration::from_millis(3100)),
            Err(1)
        );
        assert!(l.check(&limits, 7, t0 + Duration::from_secs(4)).is_ok());
    }

    #[test]
    fn count_faults_run_out() {
        let mut faults = vec![FaultRec {
            fault: Fault::error(500, "Internal Server Error").method("sendMessage"),
            remaining: Some(2),
        }];
        let mut rng = 42;
        assert!(pick_faults(&mut faults, "getMe", None, &mut rng).is_none());
        assert!(pick_faults(&mut faults, "sendMessage", None, &mut rng).is_some());
        assert!(pick_faults(&mut faults, "sendMessage", Some(1), &mut rng).is_some());
        assert!(pick_faults(&mut faults, "sendMessage", None, &mut rng).is_none());
        assert!(faults.is_empty());
    }

    #[test]
    fn chat_faults_skip_other_chats_and_the_first_outcome_wins() {
        let mut faults = vec![
            FaultRec {
                fault: Fault::drop_after_acting().chat(7).with_latency(5),
                remaining: Some(1),
            },
            FaultRec {
                fault: Fault::error(502, "Bad Gateway").with_latency(5),
                remaining: None,
            },
        ];
        let mut rng = 42;
        let other = pick_faults(&mut faults, "copyMessage", Some(8), &mut rng).expect("502");
        assert!(!other.drop_after_acting && other.error.is_some());
        let mine = pick_faults(&mut faults, "copyMessage", Some(7), &mut rng).expect("drop");
        assert!(mine.drop_after_acting && mine.error.is_none());
        assert_eq!(mine.latency, Some(Duration::from_millis(10)));
        assert_eq!(faults.len(), 1, "the counted fault ran out");
    }
}
