//! What the client logs through `tracing`: statements' SQL at DEBUG, never parameter values.

use std::io::Write;
use std::sync::{Arc, Mutex};

use dqlite_client::{Value, blocking};

use crate::common;

/// Collects everything a `fmt` subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn statements_are_logged_at_debug_without_their_parameters() {
    let cluster = common::start(1);
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let client = blocking::Cluster::new(common::config(&cluster, "logging")).unwrap();
        let mut conn = client.connect().unwrap();
        conn.execute("CREATE TABLE secrets (v TEXT)", &[]).unwrap();
        conn.execute(
            "INSERT INTO secrets VALUES (?)",
            &[Value::from("hunter2-do-not-log")],
        )
        .unwrap();
        conn.query_all("SELECT v FROM secrets", &[]).unwrap();
    });
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("connected to the leader"), "{log}");
    assert!(log.contains("INSERT INTO secrets VALUES (?)"), "{log}");
    assert!(log.contains("SELECT v FROM secrets"), "{log}");
    assert!(
        !log.contains("hunter2"),
        "a parameter value was logged:\n{log}"
    );
}

#[test]
fn discovery_and_each_statement_are_spans_with_durations() {
    let cluster = common::start(1);
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let client = blocking::Cluster::new(common::config(&cluster, "spans")).unwrap();
        let mut conn = client.connect().unwrap();
        conn.execute("CREATE TABLE s (v TEXT)", &[]).unwrap();
        conn.execute("INSERT INTO s VALUES (?)", &[Value::from("hunter2-span")])
            .unwrap();
        conn.query_all("SELECT v FROM s", &[]).unwrap();
    });
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let closed = |name: &str, needle: &str| {
        log.lines().any(|l| {
            l.contains(&format!("{name}{{"))
                && l.contains(needle)
                && l.contains("close")
                && l.contains("time.busy")
        })
    };
    let leader = cluster.addresses()[0].clone();
    assert!(closed("discovery", &format!("leader={leader}")), "{log}");
    assert!(
        closed("request", "kind=\"execute\" node=")
            && closed("request", "sql=\"INSERT INTO s VALUES (?)\" params=1"),
        "{log}"
    );
    assert!(closed("request", "sql=\"SELECT v FROM s\""), "{log}");
    assert!(
        !log.contains("hunter2"),
        "a parameter value was logged:\n{log}"
    );
}
