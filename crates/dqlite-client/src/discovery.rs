//! Finding the leader: every known node is watched at once, each by its own task, and the
//! first node that says it leads wins.
//!
//! A node that does not answer (paused, partitioned, or slow) only holds up its own task:
//! the others keep asking, so a leader elected elsewhere is found as soon as it answers.
//! Each task keeps its connection and asks LEADER again after a short pause while the node
//! answers (a follower, or a node that knows no leader yet), and dials again after a
//! longer, capped exponential backoff when it does not. A follower that names the leader
//! wakes the task watching that node at once (no node is asked twice within 50 ms, so
//! two nodes that name each other do not spin); a named node not in the list is confirmed
//! on the spot. The last known leader gets a head start, alone, so that the usual case
//! costs one connection.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

use crate::config::{Address, Config};
use crate::conn::Connection;
use crate::error::{Error, Result};

/// How long the last known leader is asked alone before every node is.
const HEAD_START: Duration = Duration::from_millis(100);
/// How long a node may take to answer LEADER once connected (at most the request
/// deadline): a paused node accepts connections but never answers.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// The longest pause before a node that answered is asked again: a LEADER on an open
/// connection is cheap, and the sooner a new leader is asked, the sooner it is found.
const ANSWERING_CAP: Duration = Duration::from_millis(250);
/// The shortest time between two questions to one node, wakes included: two nodes that
/// name each other (stale views during an election, or a misconfigured pair) would
/// otherwise wake each other without pause until the deadline.
const MIN_ASK_GAP: Duration = Duration::from_millis(50);

/// What the watching tasks share.
struct Shared {
    config: Config,
    /// Wakes the task watching each address (named as nodes report addresses).
    wake: HashMap<String, Arc<Notify>>,
    limit: Semaphore,
    last_error: Mutex<Option<Error>>,
}

/// Finds the leader among `nodes` (the last known leader, if any, asked first) by
/// `deadline`, and returns a connection to it (no database open).
pub(crate) async fn find_leader(
    config: &Config,
    last: Option<Address>,
    mut nodes: Vec<Address>,
    deadline: Instant,
) -> Result<Connection> {
    nodes.retain(|a| Some(a) != last.as_ref());
    let tried = last
        .iter()
        .chain(&nodes)
        .map(Address::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if tried.is_empty() {
        return Err(Error::Config(
            "the node store holds no usable address".into(),
        ));
    }
    let shared = Arc::new(Shared {
        wake: last
            .iter()
            .chain(&nodes)
            .map(|a| (a.to_string(), Arc::new(Notify::new())))
            .collect(),
        limit: Semaphore::new(config.concurrent_probes.max(1)),
        last_error: Mutex::new(None),
        config: config.clone(),
    });
    let mut watchers = JoinSet::new();
    let deadline = tokio::time::Instant::from_std(deadline);
    if let Some(address) = last {
        watchers.spawn(watch(address, Arc::clone(&shared)));
        let head_start = deadline.min(tokio::time::Instant::now() + HEAD_START);
        if let Ok(Some(Ok(found))) = tokio::time::timeout_at(head_start, watchers.join_next()).await
        {
            return found;
        }
    }
    for address in nodes {
        watchers.spawn(watch(address, Arc::clone(&shared)));
    }
    loop {
        match tokio::time::timeout_at(deadline, watchers.join_next()).await {
            // The leader, or a refused redirect. Dropping `watchers` stops the others.
            Ok(Some(Ok(found))) => return found,
            Ok(Some(Err(join_error))) => {
                let e = Error::Closed {
                    reason: format!("leader probe task failed: {join_error}"),
                };
                *shared.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
            }
            Ok(None) | Err(_) => break,
        }
    }
    let last_error = shared
        .last_error
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
        .unwrap_or_else(|| Error::Timeout {
            operation: "probing the nodes for the leader".into(),
            after: config.timeouts.connect,
        });
    Err(Error::NoLeader {
        tried,
        last_error: Some(Box::new(last_error)),
    })
}

/// What one LEADER question to a node told.
enum Answer {
    /// The node leads: here is the connection to it.
    Leads(Box<Connection>),
    /// The node answered but does not lead (it may name the leader).
    Follows(Option<String>),
    /// The node did not answer.
    Silent(Error),
    /// The node named a leader the redirect policy refuses: discovery ends.
    Refused(Error),
}

/// Watches one node until it leads (or names a leader that confirms it); never gives up
/// on its own (the caller's deadline ends it), except when the redirect policy refuses the
/// leader a node names.
async fn watch(address: Address, shared: Arc<Shared>) -> Result<Connection> {
    let name = address.to_string();
    let wake = shared.wake.get(&name).cloned().unwrap_or_default();
    let config = &shared.config;
    let mut conn: Option<Connection> = None;
    let (mut answered, mut silent) = (0u32, 0u32);
    loop {
        let asked = tokio::time::Instant::now();
        let pause = match ask(&address, &mut conn, &shared).await {
            Answer::Leads(conn) => return Ok(*conn),
            Answer::Refused(e) => return Err(e),
            Answer::Follows(named) => {
                if let Some(leader) = named.filter(|l| *l != name) {
                    match shared.wake.get(&leader) {
                        Some(other) => other.notify_one(),
                        // A leader the list does not know: confirm it here.
                        None => {
                            if let Ok(target) = leader.parse::<Address>() {
                                match ask(&target, &mut None, &shared).await {
                                    Answer::Leads(conn) => return Ok(*conn),
                                    Answer::Refused(e) => return Err(e),
                                    Answer::Follows(_) | Answer::Silent(_) => {}
                                }
                            }
                        }
                    }
                }
                silent = 0;
                answered = answered.saturating_add(1);
                backoff(
                    config.backoff_base,
                    config.backoff_cap.min(ANSWERING_CAP),
                    answered,
                )
            }
            Answer::Silent(e) => {
                tracing::debug!(node = %name, error = %e, "leader probe failed");
                *shared.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                conn = None;
                answered = 0;
                silent = silent.saturating_add(1);
                backoff(config.backoff_base, config.backoff_cap, silent)
            }
        };
        // Asked again after the pause, or as soon as MIN_ASK_GAP allows when another
        // node names this one.
        let _ = tokio::time::timeout(pause, wake.notified()).await;
        tokio::time::sleep_until(asked + MIN_ASK_GAP).await;
    }
}

/// Asks the node at `address` which node leads, on `conn` (opened first when empty).
async fn ask(address: &Address, conn: &mut Option<Connection>, shared: &Shared) -> Answer {
    let config = &shared.config;
    let Ok(_permit) = shared.limit.acquire().await else {
        return Answer::Follows(None);
    };
    let open = match conn.take() {
        Some(open) => open,
        None => match Connection::handshake(address, config).await {
            Ok(mut open) => {
                open.set_request_timeout(config.timeouts.request.min(PROBE_TIMEOUT));
                open
            }
            Err(e) => return Answer::Silent(e),
        },
    };
    let mut open = open;
    let answer = open.leader().await;
    if let (Ok(Some((_, leader))), Some(policy)) = (&answer, &config.redirect_policy)
        && !policy.allows(leader)
    {
        return Answer::Refused(Error::RedirectRejected {
            address: leader.clone(),
            named_by: address.to_string(),
        });
    }
    match answer {
        Ok(Some((_, leader))) if leader == address.to_string() => {
            open.set_request_timeout(config.timeouts.request);
            Answer::Leads(Box::new(open))
        }
        Ok(named) => {
            *conn = Some(open);
            Answer::Follows(named.map(|(_, leader)| leader))
        }
        Err(e) => Answer::Silent(e),
    }
}

/// `base * 2^attempt`, capped, with ±10 % jitter.
pub(crate) fn backoff(base: Duration, cap: Duration, attempt: u32) -> Duration {
    let exp = base.saturating_mul(1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX));
    let pause = exp.min(cap);
    let jitter = 0.9 + 0.2 * fastrand::f64();
    // Not mul_f64, which panics past Duration::MAX (a cap of Duration::MAX, for none).
    Duration::try_from_secs_f64(pause.as_secs_f64() * jitter).unwrap_or(pause)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps_with_jitter() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(1);
        for (attempt, nominal) in [(1, 200), (2, 400), (3, 800), (4, 1000), (30, 1000)] {
            let d = backoff(base, cap, attempt).as_millis();
            let lo = nominal * 9 / 10;
            let hi = nominal * 11 / 10;
            assert!((lo..=hi).contains(&d), "attempt {attempt}: {d} ms");
        }
    }

    #[test]
    fn the_longest_backoff_does_not_overflow() {
        for _ in 0..100 {
            let d = backoff(Duration::MAX, Duration::MAX, 3);
            assert!(d >= Duration::MAX.mul_f64(0.89), "{d:?}");
        }
    }
}
