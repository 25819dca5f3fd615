//! The shell binary against real dqlite clusters started by `dqlite-testkit`.
//!
//! The file name contains "cluster": nextest runs these at most two at a time.

// Test helpers fail loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use assert_cmd::prelude::*;
use dqlite_testkit::{ServerVersion, TestCluster};
use predicates::prelude::*;

use common::start;

/// The shell, pointed at `cluster` and database `db`, with its history in a scratch place.
fn shell(cluster: &TestCluster, db: &str) -> Command {
    let mut cmd = common::shell_binary();
    cmd.arg("-s")
        .arg(cluster.addresses().join(","))
        .arg(db)
        .env("DQLITE_SHELL_HISTORY", cluster.dir().join("history"));
    cmd
}

/// The shell reading `db`'s statements from a pipe (`-i`: as at a terminal, so Ctrl-C
/// stops the statement, not the shell), with stdout and stderr piped too.
fn interactive(cluster: &TestCluster, db: &str) -> std::process::Child {
    shell(cluster, db)
        .arg("-i")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Sends SIGINT (Ctrl-C) to `child`.
fn interrupt(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Runs the shell with `commands` as `-c` arguments; returns stdout, asserting success.
fn run(cluster: &TestCluster, db: &str, commands: &[&str]) -> String {
    let mut cmd = shell(cluster, db);
    for c in commands {
        cmd.arg("-c").arg(c);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{commands:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs the shell with `script` on stdin.
fn run_stdin(cluster: &TestCluster, db: &str, args: &[&str], script: &str) -> std::process::Output {
    let mut child = shell(cluster, db)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

const SETUP: &str = "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL, data BLOB); \
                     INSERT INTO t VALUES (1, 'alice', 9.5, NULL), (2, 'bob, jr', NULL, x'cafe');";
const QUERY: &str = "SELECT * FROM t ORDER BY id";

#[test]
fn cluster_output_modes() {
    let cluster = start(1);
    run(&cluster, "modes", &[SETUP]);
    let mode = |m: &str, extra: &[&str]| {
        let set = format!(".mode {m}");
        let mut commands = vec![set.as_str()];
        commands.extend_from_slice(extra);
        commands.push(QUERY);
        run(&cluster, "modes", &commands)
    };
    assert_eq!(
        mode("table", &[]),
        "\
+----+---------+-------+---------+
| id |  name   | score |  data   |
+----+---------+-------+---------+
| 1  | alice   | 9.5   |         |
| 2  | bob, jr |       | X'cafe' |
+----+---------+-------+---------+
"
    );
    assert_eq!(
        mode("box", &[]),
        "\
┌────┬─────────┬───────┬─────────┐
│ id │  name   │ score │  data   │
├────┼─────────┼───────┼─────────┤
│ 1  │ alice   │ 9.5   │         │
│ 2  │ bob, jr │       │ X'cafe' │
└────┴─────────┴───────┴─────────┘
"
    );
    assert_eq!(mode("list", &[]), "1|alice|9.5|\n2|bob, jr||X'cafe'\n");
    assert_eq!(
        mode("list", &[".headers on"]),
        "id|name|score|data\n1|alice|9.5|\n2|bob, jr||X'cafe'\n"
    );
    assert_eq!(
        mode("list", &[".nullvalue NULL", ".separator ' ; '"]),
        "1 ; alice ; 9.5 ; NULL\n2 ; bob, jr ; NULL ; X'cafe'\n"
    );
    assert_eq!(
        mode("list", &[".separator \\t \\r\\n"]),
        "1\talice\t9.5\t\r\n2\tbob, jr\t\tX'cafe'\r\n"
    );
    assert_eq!(
        mode("csv", &[".headers on"]),
        "id,name,score,data\r\n1,alice,9.5,\r\n2,\"bob, jr\",,X'cafe'\r\n"
    );
    assert_eq!(
        mode("json", &[]),
        "[{\"id\":1,\"name\":\"alice\",\"score\":9.5,\"data\":null},\n\
         {\"id\":2,\"name\":\"bob, jr\",\"score\":null,\"data\":\"X'cafe'\"}]\n"
    );
    assert_eq!(
        mode("line", &[]),
        "   id = 1\n name = alice\nscore = 9.5\n data = \n\n   id = 2\n name = bob, jr\nscore = \n data = X'cafe'\n"
    );
    // The command-line options set the same things.
    let out = shell(&cluster, "modes")
        .args([
            "--format",
            "csv",
            "--headers",
            "--nullvalue",
            "-",
            "-c",
            QUERY,
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "id,name,score,data\r\n1,alice,9.5,-\r\n2,\"bob, jr\",-,X'cafe'\r\n"
    );
    let json = run(
        &cluster,
        "modes",
        &[".mode json", "SELECT count(*) AS n FROM t WHERE 0"],
    );
    assert_eq!(json, "[{\"n\":0}]\n");
    let empty = run(
        &cluster,
        "modes",
        &[".mode json", "SELECT * FROM t WHERE 0"],
    );
    assert_eq!(empty, "[]\n");
    // Without a terminal the default is list mode.
    assert_eq!(
        run(&cluster, "modes", &["SELECT 1.0, 0.1 + 0.2, 1e20, 'x'"]),
        "1.0|0.3|1.0e+20|x\n"
    );
}

#[test]
fn cluster_dot_commands() {
    let cluster = start(1);
    let dir = tempfile::tempdir().unwrap();
    run(
        &cluster,
        "dots",
        &[
            SETUP,
            "CREATE TABLE other (x); CREATE INDEX t_name ON t(name); \
             CREATE INDEX other_x ON other(x); CREATE VIEW v AS SELECT name FROM t",
        ],
    );
    assert_eq!(run(&cluster, "dots", &[".tables"]), "other\nt\nv\n");
    assert_eq!(run(&cluster, "dots", &[".tables o%"]), "other\n");
    assert_eq!(
        run(&cluster, "dots", &[".schema t"]),
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL, data BLOB);\n\
         CREATE INDEX t_name ON t(name);\n"
    );
    let schema = run(&cluster, "dots", &[".schema"]);
    assert_eq!(schema.lines().count(), 5, "{schema}");
    assert!(schema.contains("CREATE VIEW v AS SELECT name FROM t;"));
    assert_eq!(run(&cluster, "dots", &[".indexes"]), "other_x\nt_name\n");
    assert_eq!(run(&cluster, "dots", &[".indexes t"]), "t_name\n");

    let help = run(&cluster, "dots", &[".help"]);
    for command in [
        ".add",
        ".assign",
        ".backup",
        ".bail",
        ".changes",
        ".cluster",
        ".describe",
        ".dump",
        ".echo",
        ".exit",
        ".headers",
        ".help",
        ".indexes",
        ".leader",
        ".mode",
        ".nullvalue",
        ".once",
        ".output",
        ".quit",
        ".read",
        ".remove",
        ".schema",
        ".separator",
        ".show",
        ".tables",
        ".timer",
        ".transfer",
        ".weight",
    ] {
        assert!(help.contains(&format!("{command} ")), "{command} missing");
    }

    let show = run(&cluster, "dots", &[".mode csv", ".headers on", ".show"]);
    assert!(show.contains("mode: csv"), "{show}");
    assert!(show.contains("headers: on"), "{show}");
    assert!(show.contains("database: dots"), "{show}");

    // .timer and .changes.
    let out = shell(&cluster, "dots")
        .args([
            "-c",
            ".timer on",
            "-c",
            ".changes on",
            "-c",
            "UPDATE t SET score = 1",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "changes: 2   total_changes: 2\n"
    );
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .starts_with("Run Time: real ")
    );

    // .echo prints each command.
    assert_eq!(
        run(&cluster, "dots", &[".echo on", "SELECT 1; SELECT 2"]),
        "SELECT 1;\n1\nSELECT 2;\n2\n"
    );

    // .output, .once and .read.
    let out_file = dir.path().join("out.txt");
    let once_file = dir.path().join("once.txt");
    let script = dir.path().join("script.sql");
    std::fs::write(&script, ".mode csv\nSELECT id, name\nFROM t ORDER BY id;\n").unwrap();
    let stdout = run(
        &cluster,
        "dots",
        &[
            &format!(".output {}", out_file.display()),
            "SELECT 'to the file'",
            ".output stdout",
            &format!(".once {}", once_file.display()),
            "SELECT 'once'",
            "SELECT 'back on stdout'",
            &format!(".read {}", script.display()),
        ],
    );
    assert_eq!(stdout, "back on stdout\n1,alice\r\n2,\"bob, jr\"\r\n");
    assert_eq!(std::fs::read_to_string(&out_file).unwrap(), "to the file\n");
    assert_eq!(std::fs::read_to_string(&once_file).unwrap(), "once\n");

    // .exit with a status; an unknown command and bad usage are errors.
    shell(&cluster, "dots")
        .args(["-c", ".exit 3", "-c", "SELECT 'not reached'"])
        .assert()
        .code(3)
        .stdout("");
    shell(&cluster, "dots")
        .args(["-c", ".frobnicate"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "Error: unknown command \".frobnicate\"",
        ));
    shell(&cluster, "dots")
        .args(["-c", ".mode sideways"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("unknown mode"));
    shell(&cluster, "dots")
        .args(["-c", ".add 5"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("usage: .add ID ADDRESS"));
}

/// Statements that are hard to cut: semicolons in strings, comments and trigger bodies,
/// statements over several lines, dot-lookalikes inside strings.
#[test]
fn cluster_splitter_on_tricky_input() {
    let cluster = start(1);
    let script = "\
CREATE TABLE s (id INTEGER PRIMARY KEY, v TEXT);  -- a comment; with a semicolon
CREATE TABLE log (msg TEXT);
/* a block comment; over
   two lines; */
INSERT INTO s (v) VALUES ('a;b'), ('it''s; fine'), ('-- not a comment'), ('/* nor this */');
CREATE TRIGGER s_log AFTER INSERT ON s BEGIN
  INSERT INTO log VALUES ('inserted; ' || new.v);
  INSERT INTO log VALUES ('END;');
END;
INSERT INTO s (v)
VALUES
  ('two
.lines');
SELECT id, v FROM s ORDER BY id; SELECT count(*) FROM log;
.mode csv
SELECT msg FROM log ORDER BY rowid
";
    let out = run_stdin(&cluster, "split", &[], script);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "1|a;b\n2|it's; fine\n3|-- not a comment\n4|/* nor this */\n5|two\n.lines\n2\n\
         \"inserted; two\n.lines\"\r\nEND;\r\n"
    );
}

#[test]
fn cluster_batch_exit_codes() {
    let cluster = start(1);
    shell(&cluster, "batch")
        .args(["-c", "SELECT 1"])
        .assert()
        .success()
        .stdout("1\n")
        .stderr("");
    // An SQL error: the server's message, code name and number on stderr; status 1. The
    // next command still runs (sqlite3 does the same without --bail).
    shell(&cluster, "batch")
        .args(["-c", "SELEC 1", "-c", "SELECT 2"])
        .assert()
        .code(1)
        .stdout("2\n")
        .stderr("Error: near \"SELEC\": syntax error (SQLITE_ERROR, code 1)\n");
    shell(&cluster, "batch")
        .args(["--bail", "-c", "SELEC 1", "-c", "SELECT 2"])
        .assert()
        .code(1)
        .stdout("");
    // From stdin: the line of the failing statement, and .bail.
    let out = run_stdin(
        &cluster,
        "batch",
        &[],
        "SELECT 1;\n\nSELECT *\nFROM missing;\nSELECT 3;\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "1\n3\n");
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "Error: near line 3: no such table: missing (SQLITE_ERROR, code 1)\n"
    );
    let out = run_stdin(&cluster, "batch", &[], ".bail on\nSELEC;\nSELECT 3;\n");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(out.stdout, b"");
    // A constraint failure names its extended code.
    shell(&cluster, "batch")
        .args([
            "-c",
            "CREATE TABLE u (a UNIQUE); INSERT INTO u VALUES (1); INSERT INTO u VALUES (1)",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "UNIQUE constraint failed: u.a (SQLITE_CONSTRAINT_UNIQUE, code 2067)",
        ));
    // Nothing listening: a connection error, status 1.
    common::shell_binary()
        .args(["-s", "127.0.0.1:1", "--timeout", "1s", "-c", "SELECT 1"])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("Error: no dqlite leader found"));
    // Bad arguments: status 2.
    common::shell_binary()
        .args(["-c", "SELECT 1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no node to connect to"));
}

/// A NULL in a column declared DATETIME, DATE or TIMESTAMP arrives as empty ISO-8601 text:
/// every mode writes it as NULL (as `.dump`, the client's `Option` and go-dqlite read it),
/// not as an empty string (quoted in csv, `""` in json).
#[test]
fn cluster_output_shows_a_null_date_as_null() {
    let cluster = start(1);
    run(
        &cluster,
        "nulldate",
        &[
            "CREATE TABLE d (id INTEGER PRIMARY KEY, at DATETIME, on_day DATE)",
            "INSERT INTO d VALUES (1, NULL, '2024-01-02')",
        ],
    );
    let query = "SELECT * FROM d";
    let mode = |m: &str| run(&cluster, "nulldate", &[m, ".nullvalue NULL", query]);
    assert_eq!(mode(".mode list"), "1|NULL|2024-01-02\n");
    assert_eq!(mode(".mode csv"), "1,NULL,2024-01-02\r\n");
    assert_eq!(
        mode(".mode json"),
        "[{\"id\":1,\"at\":null,\"on_day\":\"2024-01-02\"}]\n"
    );
    assert_eq!(
        mode(".mode line"),
        "    id = 1\n    at = NULL\non_day = 2024-01-02\n"
    );
}

/// dqlite nodes abort when a query reads a TEXT, REAL or BLOB value from a column declared
/// BOOLEAN, or a REAL or BLOB value from one declared DATETIME, DATE or TIMESTAMP. Fields
/// are bound as text, so an empty field in a BOOLEAN column, or `1.5` in a DATETIME
/// column, would store such a value: `.import` refuses the file, leaves the table as it
/// was, and the node keeps serving.
#[test]
fn cluster_import_refuses_values_that_would_crash_the_node() {
    let cluster = start(1);
    run(
        &cluster,
        "guard",
        &["CREATE TABLE u (id INTEGER, flag BOOLEAN, at DATETIME, day date)"],
    );
    let file = cluster.dir().join("u.csv");
    for (csv, column) in [
        ("1,1,2024-01-02,2024-01-02\n2,,2024-01-02,\n", "flag"),
        ("1,yes,,\n", "flag"),
        ("1,1,1.5,\n", "at"),
        ("1,0,,2.25\n", "day"),
    ] {
        std::fs::write(&file, csv).unwrap();
        let out = shell(&cluster, "guard")
            .args(["-c", &format!(".import --csv {} u", file.display())])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{csv:?}: {stderr}");
        assert!(
            stderr.contains(&format!("column {column}")),
            "{csv:?}: {stderr}"
        );
        assert_eq!(run(&cluster, "guard", &["SELECT * FROM u"]), "", "{csv:?}");
    }
    // What the node can send goes in, and reads back.
    std::fs::write(&file, "1,1,2024-01-02 03:04:05,1700000000\n2,0,,\n").unwrap();
    run(
        &cluster,
        "guard",
        &[&format!(".import --csv {} u", file.display())],
    );
    assert_eq!(
        run(&cluster, "guard", &[".nullvalue NULL", "SELECT * FROM u"]),
        "1|1|2024-01-02 03:04:05|1700000000\n2|0|NULL|NULL\n"
    );
}

/// `.import`'s check of columns declared BOOLEAN or as dates reads one count per such
/// column in one query: a table with many of them still imports (the counts' names must
/// not fill the node's 4 KiB page, or it cannot send them).
#[test]
fn cluster_import_into_many_boolean_columns() {
    let cluster = start(1);
    let columns: Vec<String> = (0..80).map(|i| format!("flag_{i} BOOLEAN")).collect();
    run(
        &cluster,
        "flags",
        &[&format!("CREATE TABLE flags ({})", columns.join(", "))],
    );
    let file = cluster.dir().join("flags.csv");
    let row: Vec<&str> = (0..80)
        .map(|i| if i % 2 == 0 { "1" } else { "0" })
        .collect();
    std::fs::write(&file, format!("{}\n", row.join(","))).unwrap();
    run(
        &cluster,
        "flags",
        &[&format!(".import --csv {} flags", file.display())],
    );
    assert_eq!(
        run(
            &cluster,
            "flags",
            &["SELECT flag_0, flag_1, flag_79 FROM flags"]
        ),
        "1|0|0\n"
    );
}

/// Values that need care in SQL text, through `.dump` into a fresh database and back.
#[test]
fn cluster_dump_reproduces_the_database() {
    let cluster = start(3);
    let setup = "\
CREATE TABLE \"order\" (id INTEGER PRIMARY KEY AUTOINCREMENT, v, doubled AS (v * 2));
INSERT INTO \"order\" (v) VALUES (1.5), (NULL), (x'00ff'), ('it''s'), ('two
lines; and a semicolon'), (-0.1), (1e300), (9223372036854775807);
CREATE TABLE plain (a TEXT, b BLOB);
INSERT INTO plain VALUES ('', x''), ('\"quoted\"', NULL);
CREATE INDEX plain_a ON plain(a);
CREATE TRIGGER order_log AFTER INSERT ON \"order\" BEGIN
  INSERT INTO plain VALUES ('trigger; fired', NULL);
END;
CREATE VIEW order_view AS SELECT id, v FROM \"order\";
";
    let out = run_stdin(&cluster, "source", &[], setup);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dump = run(&cluster, "source", &[".dump"]);
    assert!(dump.starts_with("PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n"));
    assert!(dump.ends_with("COMMIT;\n"));
    assert!(dump.contains(
        "INSERT INTO \"order\"(id,v) VALUES(3,X'00ff');\n\
         INSERT INTO \"order\"(id,v) VALUES(4,'it''s');\n\
         INSERT INTO \"order\"(id,v) VALUES(5,'two\nlines; and a semicolon');\n"
    ));
    assert!(dump.contains("INSERT INTO sqlite_sequence VALUES('order',8);\n"));
    assert!(dump.contains("INSERT INTO plain VALUES('',X'');\n"));

    // Into a fresh database: same dump back, and the same data.
    let out = run_stdin(&cluster, "copy", &["--bail"], &dump);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(run(&cluster, "copy", &[".dump"]), dump);
    let check = "SELECT id, quote(v), typeof(v), doubled FROM \"order\" ORDER BY id";
    assert_eq!(
        run(&cluster, "copy", &[check]),
        run(&cluster, "source", &[check])
    );
    // The trigger came after the rows: it did not fire during the load.
    assert_eq!(
        run(&cluster, "copy", &["SELECT count(*) FROM plain"]),
        "2\n"
    );

    // One table only.
    let one = run(&cluster, "source", &[".dump plain"]);
    assert!(one.contains("CREATE TABLE plain"));
    assert!(one.contains("CREATE INDEX plain_a"));
    assert!(!one.contains("\"order\""));
}

#[test]
fn cluster_backup_opens_with_sqlite() {
    let cluster = start(3);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.db");
    let out = run_stdin(
        &cluster,
        "backup",
        &[],
        &format!(
            "CREATE TABLE t (n INTEGER, s TEXT);\n\
             INSERT INTO t VALUES (1, 'one');\n\
             INSERT INTO t SELECT n + 1, s || '+' FROM t;\n\
             INSERT INTO t SELECT n + 2, s || '*' FROM t;\n\
             .backup {}\n",
            file.display()
        ),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("backed up database \"backup\"")
    );
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"SQLite format 3\0"));

    let db = rusqlite::Connection::open(&file).unwrap();
    let rows: Vec<(i64, String)> = db
        .prepare("SELECT n, s FROM t ORDER BY n")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        rows,
        vec![
            (1, "one".to_owned()),
            (2, "one+".into()),
            (3, "one*".into()),
            (4, "one+*".into())
        ]
    );
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");

    // A stray WAL next to the target would be replayed into it: refused.
    std::fs::write(dir.path().join("second.db-wal"), b"old").unwrap();
    shell(&cluster, "backup")
        .args([
            "-c",
            &format!(".backup {}", dir.path().join("second.db").display()),
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("second.db-wal exists"));
}

/// `.cluster`, `.leader`, `.describe`, `.weight`, `.add`, `.assign`, `.remove`,
/// `.transfer`, and the node store.
#[test]
fn cluster_admin_sequence() {
    let cluster = start(3);
    let addresses = cluster.addresses();
    let members = run(&cluster, "admin", &[".cluster"]);
    assert_eq!(members.lines().count(), 3, "{members}");
    for address in &addresses {
        assert!(
            members.contains(&format!("|{address}|voter\n")),
            "{members}"
        );
    }
    let leader = run(&cluster, "admin", &[".leader"]);
    let (_, leader_address) = leader.trim_end().split_once('|').unwrap();
    assert!(addresses.iter().any(|a| a == leader_address), "{leader}");

    // .describe and .weight, on the leader and on a named node.
    assert_eq!(
        run(&cluster, "admin", &[".describe"]),
        format!("{leader_address}|0|0\n")
    );
    let other = addresses.iter().find(|a| *a != leader_address).unwrap();
    assert_eq!(
        run(
            &cluster,
            "admin",
            &[&format!(".weight 7 {other}"), &format!(".describe {other}")]
        ),
        format!("{other}|0|7\n")
    );
    assert_eq!(
        run(&cluster, "admin", &[".mode json", ".describe"]),
        format!("[{{\"address\":\"{leader_address}\",\"failure_domain\":0,\"weight\":0}}]\n")
    );

    // A new node: added as a spare, made a standby, then removed.
    let node = cluster.start_unjoined_node(42).unwrap();
    let address = node.address().to_owned();
    shell(&cluster, "admin")
        .args(["-c", &format!(".add 42 {address}")])
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            "node 42 added at {address} as a spare"
        )));
    shell(&cluster, "admin")
        .args(["-c", &format!(".assign {address} standby")])
        .assert()
        .success()
        .stderr("node 42 is now a standby\n");
    let members = run(&cluster, "admin", &[".mode csv", ".cluster"]);
    assert!(
        members.contains(&format!("42,{address},standby\r\n")),
        "{members}"
    );
    shell(&cluster, "admin")
        .args(["-c", ".remove 42"])
        .assert()
        .success()
        .stderr("node 42 removed\n");
    let members = run(&cluster, "admin", &[".cluster"]);
    assert!(!members.contains(&address), "{members}");
    shell(&cluster, "admin")
        .args(["-c", ".assign 42 boss"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("unknown role"));

    // Leadership moves to the node named, and the shell follows it.
    let out = shell(&cluster, "admin")
        .args([
            "-c",
            "CREATE TABLE t (n)",
            "-c",
            &format!(".transfer {other}"),
            "-c",
            "INSERT INTO t VALUES (1)",
            "-c",
            ".leader",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .ends_with(&format!("|{other}\n"))
    );

    // A node store: read for the seeds, rewritten by .cluster with ids and roles.
    let store = cluster.dir().join("store");
    std::fs::write(&store, format!("0 {} -\n", addresses.first().unwrap())).unwrap();
    common::shell_binary()
        .arg("--store")
        .arg(&store)
        .args(["admin", "-c", ".cluster", "-c", "SELECT count(*) FROM t"])
        .assert()
        .success()
        .stdout(predicate::str::ends_with("1\n"));
    let stored = std::fs::read_to_string(&store).unwrap();
    for address in &addresses {
        assert!(stored.contains(&format!(" {address} voter\n")), "{stored}");
    }
}

/// `.assign` and `.remove` refuse to take the last voter's vote (the cluster would never
/// elect a leader again) unless given `--force`.
#[test]
fn the_last_voter_is_kept_unless_forced() {
    let cluster = start(1);
    let leader = run(&cluster, "admin", &[".leader"]);
    let (id, _) = leader.trim_end().split_once('|').unwrap();
    for command in [format!(".assign {id} spare"), format!(".remove {id}")] {
        shell(&cluster, "admin")
            .args(["-c", &command])
            .assert()
            .code(1)
            .stderr(
                predicate::str::contains("last voter").and(predicate::str::contains("--force")),
            );
    }
    let members = run(&cluster, "admin", &[".cluster"]);
    assert!(members.ends_with("|voter\n"), "{members}");
    assert_eq!(members.lines().count(), 1, "{members}");
}

/// The prompt over a pipe (`-i`): multi-line statements, dot-commands, history.
#[test]
fn cluster_interactive_prompt_and_history() {
    let cluster = start(1);
    let out = run_stdin(
        &cluster,
        "prompt",
        &["-i"],
        "SELECT 1;\nSELECT\n  2\n;\n.mode csv\nSELECT 'a,b';\n.exit\nSELECT 'not reached';\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("1\n"), "{stdout}");
    assert!(stdout.contains("2\n"), "{stdout}");
    assert!(stdout.contains("\"a,b\"\r\n"), "{stdout}");
    assert!(!stdout.contains("not reached"), "{stdout}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("Enter \".help\""), "{stderr}");
    let history = std::fs::read_to_string(cluster.dir().join("history")).unwrap();
    assert!(history.contains("SELECT\\n  2\\n;"), "{history}");
    assert!(history.contains(".mode csv"), "{history}");
}

/// SIGINT during a result that never ends: the statement is abandoned and batch mode
/// exits with 130.
#[test]
fn cluster_ctrl_c_stops_an_endless_query() {
    let cluster = start(1);
    let child = shell(&cluster, "interrupt")
        .args([
            "-c",
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c",
            "-c",
            "SELECT 'not reached'",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    interrupt(&child);
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(out.status.code(), Some(130));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("Interrupted"), "{stderr}");
}

/// go-dqlite 2.0's TLS cluster, with its shared certificate as CA and client identity.
#[test]
fn cluster_tls() {
    if !ServerVersion::from_env().supports_tls() {
        eprintln!("skipped: native TLS needs go-dqlite >= 2.0 (DQLITE_SERVER_VERSION=1.18|latest)");
        return;
    }
    let cluster = TestCluster::builder()
        .nodes(1)
        .tls(true)
        .start()
        .expect("start a TLS cluster");
    let cert: &Path = cluster.ca_cert_path().unwrap();
    let key: &Path = cluster.tls_key_path().unwrap();
    shell(&cluster, "tls")
        .arg("--cert")
        .arg(cert)
        .arg("--key")
        .arg(key)
        .args(["-c", "SELECT 'over tls'", "-c", ".leader"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("over tls\n"));
    // go-dqlite's spelling: -c CERT -k KEY, and the command after the database.
    common::shell_binary()
        .args(["-s", &cluster.addresses()[0], "-c"])
        .arg(cert)
        .arg("-k")
        .arg(key)
        .args(["-f", "tabular", "tls", "SELECT 'go style'"])
        .assert()
        .success()
        .stdout("go style\n");
    // Without the client identity the node hangs up.
    shell(&cluster, "tls")
        .arg("--ca")
        .arg(cert)
        .args(["--timeout", "2s", "-c", "SELECT 1"])
        .assert()
        .code(1);
}

/// Columns declared BOOLEAN or DATETIME: dqlite converts their values by the declared
/// type (NULL reads as false, 5 as true, '' as a NULL date), so `.dump` must read the
/// stored values, not the converted ones, to write the same data back.
#[test]
fn cluster_dump_keeps_values_of_typed_columns() {
    let cluster = start(1);
    let setup = "\
CREATE TABLE typed (f BOOLEAN, d DATETIME, s TIMESTAMP);
INSERT INTO typed VALUES (NULL, '', NULL), (5, '2020-01-02 03:04:05', 1700000000), (0, NULL, '');
";
    let out = run_stdin(&cluster, "typed", &[], setup);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dump = run(&cluster, "typed", &[".dump"]);
    assert!(
        dump.contains(
            "INSERT INTO typed VALUES(NULL,'',NULL);\n\
             INSERT INTO typed VALUES(5,'2020-01-02 03:04:05',1700000000);\n\
             INSERT INTO typed VALUES(0,NULL,'');\n"
        ),
        "{dump}"
    );
}

/// A node sends a result's column names in every frame, and cannot send one whose names
/// alone fill its 4 KiB page (the client then gives up on the connection). `.dump` reads
/// each column through an expression, named after it by default: it names them `_`, so a
/// table with many columns, or long column names, still dumps.
#[test]
fn cluster_dump_of_a_wide_table() {
    let cluster = start(1);
    let columns: Vec<String> = (0..150)
        .map(|i| format!("a_rather_long_column_name_{i}"))
        .collect();
    let create = format!("CREATE TABLE wide ({})", columns.join(", "));
    let insert = format!(
        "INSERT INTO wide ({}, {}) VALUES ('x', 2)",
        columns[0], columns[149]
    );
    run(&cluster, "wide", &[&create, &insert]);
    let dump = run(&cluster, "wide", &[".dump"]);
    let nulls = vec!["NULL"; 148].join(",");
    assert!(
        dump.contains(&format!("INSERT INTO wide VALUES('x',{nulls},2);\n")),
        "{dump}"
    );
}

/// Text that is not plain UTF-8 (an embedded NUL, bytes that are not UTF-8), as SQL can
/// store it: `.dump` writes it so that it loads back byte for byte, still as text. The
/// server cuts text at its first NUL when it sends it, and the client cannot read text that
/// is not UTF-8, so such values were cut short or failed the whole dump.
#[test]
fn cluster_dump_keeps_text_that_is_not_plain_utf8() {
    let cluster = start(1);
    let setup = "\
CREATE TABLE odd (id INTEGER PRIMARY KEY, a, b DATETIME);
INSERT INTO odd VALUES (1, CAST(x'6100626364656667686970' AS TEXT), CAST(x'00' AS TEXT));
INSERT INTO odd VALUES (2, CAST(x'61ff62' AS TEXT), 'x');
INSERT INTO odd VALUES (3, '', 'it''s');
INSERT INTO odd VALUES (4, 'caf\u{e9} \u{1f600}', NULL);
";
    let out = run_stdin(&cluster, "odd", &[], setup);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dump = run(&cluster, "odd", &[".dump"]);
    let out = run_stdin(&cluster, "odd_copy", &["--bail"], &dump);
    assert!(
        out.status.success(),
        "{dump}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let check = "SELECT id, typeof(a), hex(a), typeof(b), hex(b) FROM odd ORDER BY id";
    let want = run(&cluster, "odd", &[check]);
    assert!(
        want.contains("1|text|6100626364656667686970|text|00\n"),
        "{want}"
    );
    assert_eq!(run(&cluster, "odd_copy", &[check]), want, "{dump}");
    assert_eq!(run(&cluster, "odd_copy", &[".dump"]), dump);
}

/// A `.backup` that cannot be written whole (here: over the file-size limit) fails, and
/// leaves the backup already at that path as it was, not cut short.
#[test]
fn cluster_backup_that_fails_keeps_the_old_file() {
    let cluster = start(1);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.db");
    let backup = format!(".backup {}", file.display());
    run(
        &cluster,
        "keep",
        &[
            "CREATE TABLE t (b BLOB)",
            "INSERT INTO t VALUES (x'01')",
            &backup,
        ],
    );
    let old = std::fs::read(&file).unwrap();
    run(
        &cluster,
        "keep",
        &[
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) \
          INSERT INTO t SELECT randomblob(1000) FROM n",
        ],
    );
    // 64 KiB at most per file, and SIGXFSZ ignored: a write past it fails with EFBIG.
    let cmd = shell(&cluster, "keep");
    let program = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(ToOwned::to_owned).collect();
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -f 128; trap '' XFSZ; exec \"$@\"")
        .arg("sh")
        .arg(program)
        .args(args)
        .args(["-c", &backup])
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .output()
        .unwrap();
    assert!(!out.status.success(), "the backup was expected to fail");
    let now = std::fs::read(&file).unwrap();
    assert!(
        now == old,
        "the old backup ({} bytes) is now {} bytes: {}",
        old.len(),
        now.len(),
        String::from_utf8_lossy(&out.stderr)
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["backup.db"], "no temporary file left behind");
}

/// A `.dump` taken while a writer adds one row to each of two tables in one
/// transaction must hold as many rows of each.
#[test]
fn cluster_dump_is_one_snapshot() {
    let cluster = start(1);
    let out = run_stdin(
        &cluster,
        "snap",
        &[],
        "CREATE TABLE a (n INTEGER, pad TEXT);\nCREATE TABLE b (n INTEGER);\n\
         WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 20000) \
         INSERT INTO a SELECT -i, 'x' FROM s;\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let mut child = shell(&cluster, "snap")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                i += 1;
                let _ = writeln!(
                    stdin,
                    "BEGIN; INSERT INTO a VALUES ({i}, 'y'); INSERT INTO b VALUES ({i}); COMMIT;"
                );
                std::thread::sleep(Duration::from_millis(2));
            }
            drop(stdin);
            let _ = child.wait();
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let mut bad = 0;
    for _ in 0..5 {
        let dump = run(&cluster, "snap", &[".dump"]);
        let a = dump
            .lines()
            .filter(|l| l.starts_with("INSERT INTO a VALUES(") && !l.contains("(-"))
            .count();
        let b = dump
            .lines()
            .filter(|l| l.starts_with("INSERT INTO b VALUES("))
            .count();
        if a != b {
            eprintln!("a dump with {a} rows of a and {b} of b");
            bad += 1;
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    assert_eq!(bad, 0, "dumps that are not one snapshot");
    // Inside the user's own transaction too, which stays open.
    let out = run_stdin(
        &cluster,
        "snap",
        &["--bail"],
        "BEGIN;\nINSERT INTO b VALUES (0);\n.dump b\nCOMMIT;\nSELECT count(*) FROM b WHERE n = 0;\n",
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("INSERT INTO b VALUES(0);\n") && text.ends_with("COMMIT;\n1\n"),
        "{text}"
    );
}

/// `.backup` syncs the directory after renaming its temporary file over the target, or a
/// crash soon after could lose the rename (and with it the backup). Watched with strace:
/// skipped where it is not installed.
#[test]
fn cluster_backup_syncs_the_directory_after_the_rename() {
    if Command::new("strace").arg("-V").output().is_err() {
        eprintln!("skipped: strace is not installed");
        return;
    }
    let cluster = start(1);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.db");
    let log = dir.path().join("strace.log");
    run(&cluster, "durable", &["CREATE TABLE t (a)"]);
    let cmd = shell(&cluster, "durable");
    let out = Command::new("strace")
        .arg("-f")
        .args(["-e", "trace=openat,fsync,rename,renameat,renameat2"])
        .arg("-o")
        .arg(&log)
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .args(["-c", &format!(".backup {}", file.display())])
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let trace = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = trace.lines().collect();
    let target = format!("\"{}\"", file.display());
    let renamed = lines
        .iter()
        .position(|l| l.contains("rename") && l.contains(&target) && l.ends_with("= 0"))
        .unwrap_or_else(|| panic!("no rename onto the backup:\n{trace}"));
    // After it: the directory opened, and that descriptor synced.
    let directory = format!("\"{}\"", dir.path().display());
    let fd = lines[renamed..]
        .iter()
        .find(|l| l.contains("openat(") && l.contains(&directory))
        .and_then(|l| l.rsplit("= ").next())
        .unwrap_or_else(|| panic!("the directory is not opened after the rename:\n{trace}"));
    assert!(
        lines[renamed..]
            .iter()
            .any(|l| l.contains(&format!("fsync({fd})")) && l.ends_with("= 0")),
        "the directory (fd {fd}) is not synced after the rename:\n{trace}"
    );
}

/// A transaction whose connection is lost (here: the leader hands leadership over) is
/// rolled back by the server. The shell must say so, and must not run the rest of the
/// transaction's statements one by one in autocommit on a new connection: before, the
/// statements after the loss were committed while those before it were lost.
#[test]
fn cluster_a_transaction_lost_with_its_connection_is_not_continued() {
    use std::io::BufRead as _;
    let cluster = start(3);
    run(&cluster, "lost", &["CREATE TABLE k (a)"]);
    let mut child = shell(&cluster, "lost")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    writeln!(stdin, "BEGIN;\nINSERT INTO k VALUES (1);\nSELECT 'ready';").unwrap();
    stdin.flush().unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    cluster.transfer_leadership(None).unwrap();
    writeln!(
        stdin,
        "INSERT INTO k VALUES (2);\nINSERT INTO k VALUES (3);\nCOMMIT;\n\
         INSERT INTO k VALUES (4);\nSELECT a FROM k ORDER BY a;"
    )
    .unwrap();
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // Only the row written after the transaction ended is there.
    assert_eq!(rest, "4\n", "{stderr}");
    let errors: Vec<&str> = stderr.lines().collect();
    assert_eq!(errors.len(), 3, "{stderr}");
    assert!(
        errors[0].starts_with("Error: near line 4: ")
            && errors[0].contains("the open transaction was rolled back"),
        "{stderr}"
    );
    assert!(
        errors[1].starts_with("Error: near line 5: ") && errors[1].contains("ROLLBACK"),
        "{stderr}"
    );
    assert!(
        errors[2].starts_with("Error: near line 6: cannot commit"),
        "{stderr}"
    );
    assert_eq!(run(&cluster, "lost", &["SELECT a FROM k"]), "4\n");
}

/// Ctrl-C at the prompt on an endless result inside a transaction: the connection is
/// closed to stop it, so the transaction is gone, and the shell says so and refuses the
/// rest of it (before, the next INSERT was committed on its own).
#[test]
fn cluster_ctrl_c_in_a_transaction_ends_it_and_says_so() {
    use std::io::BufRead as _;
    let cluster = start(1);
    run(&cluster, "ctrlc", &["CREATE TABLE k (a)"]);
    let mut child = interactive(&cluster, "ctrlc");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    writeln!(
        stdin,
        "BEGIN;\nINSERT INTO k VALUES (1);\nSELECT 'ready';\n.output /dev/null\n\
         WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c;"
    )
    .unwrap();
    stdin.flush().unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.ends_with("ready\n"), "{line:?}");
    std::thread::sleep(Duration::from_millis(500));
    interrupt(&child);
    writeln!(
        stdin,
        ".output stdout\nINSERT INTO k VALUES (2);\nCOMMIT;\nSELECT 'count', count(*) FROM k;"
    )
    .unwrap();
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(rest.contains("count|0\n"), "{rest}\n{stderr}");
    assert!(
        stderr.contains("the open transaction was rolled back"),
        "{stderr}"
    );
    assert!(stderr.contains("cannot commit"), "{stderr}");
}

/// The leader changes while the shell sits idle between statements, outside any
/// transaction: the next statement runs on the new leader, instead of failing with "not
/// leader" (after a transfer) or an I/O error (after the leader died), when nothing of it
/// ran (or it only reads).
#[test]
fn cluster_the_statement_after_a_leader_change_runs_on_the_new_leader() {
    use std::io::BufRead as _;
    let mut cluster = start(3);
    run(&cluster, "moved", &["CREATE TABLE k (a)"]);
    let mut child = shell(&cluster, "moved")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut ask = |stdin: &mut std::process::ChildStdin, sql: &str| {
        writeln!(stdin, "{sql}").unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        line
    };
    assert_eq!(ask(&mut stdin, "SELECT 'ready';"), "ready\n");
    cluster.transfer_leadership(None).unwrap();
    assert_eq!(
        ask(
            &mut stdin,
            "INSERT INTO k VALUES (1);\nSELECT count(*) FROM k;"
        ),
        "1\n"
    );
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).unwrap();
    cluster.kill(leader).unwrap();
    assert_eq!(ask(&mut stdin, "SELECT count(*) FROM k;"), "1\n");
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Ctrl-C on a long write in autocommit (seconds of computing for one row): the shell
/// stops waiting, but the write runs on at the node and commits. The shell must not let
/// the user believe it was stopped (before: "its connection was closed", and the row
/// appeared later).
#[test]
fn cluster_ctrl_c_on_a_long_write_says_it_may_still_apply() {
    use std::io::BufRead as _;
    let cluster = start(1);
    run(&cluster, "slow", &["CREATE TABLE big (x)"]);
    let mut child = interactive(&cluster, "slow");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    writeln!(
        stdin,
        "SELECT 'ready';\nWITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
         WHERE x < 20000000) INSERT INTO big SELECT count(*) FROM c;"
    )
    .unwrap();
    stdin.flush().unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.ends_with("ready\n"), "{line:?}");
    std::thread::sleep(Duration::from_millis(300));
    interrupt(&child);
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("may still"), "{stderr}");
    // And so it did.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let count = run(&cluster, "slow", &["SELECT x FROM big"]);
        if count == "20000000\n" {
            break;
        }
        assert!(Instant::now() < deadline, "the write never landed: {count}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// A row of a CSV file that the server refuses (a constraint) or that cannot be sent (a
/// NUL in a field): the error names the file's line, not a parameter of a many-row INSERT,
/// and nothing is imported.
#[test]
fn cluster_import_errors_name_the_line_of_the_file() {
    let cluster = start(1);
    let dir = tempfile::tempdir().unwrap();
    run(
        &cluster,
        "lines",
        &["CREATE TABLE u (id INTEGER PRIMARY KEY, name TEXT)"],
    );
    let dup = dir.path().join("dup.csv");
    std::fs::write(&dup, "1,a\n2,\"two\nlines\"\n3,c\n2,again\n4,d\n").unwrap();
    let out = shell(&cluster, "lines")
        .args(["-c", &format!(".import --csv {} u", dup.display())])
        .args(["-c", "SELECT count(*) FROM u"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "0\n", "{stderr}");
    assert!(
        stderr.contains(&format!("{}:5: ", dup.display()))
            && stderr.contains("UNIQUE constraint failed: u.id")
            && stderr.contains("nothing was imported"),
        "{stderr}"
    );
    let nul = dir.path().join("nul.csv");
    std::fs::write(&nul, "1,a\n2,b\0c\n").unwrap();
    let out = shell(&cluster, "lines")
        .args(["-c", &format!(".import --csv {} u", nul.display())])
        .args(["-c", "SELECT count(*) FROM u"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "0\n", "{stderr}");
    assert!(
        stderr.contains(&format!("{}:2: ", nul.display())) && stderr.contains("NUL"),
        "{stderr}"
    );
}

/// A query that fails after its columns came (here: text that is not UTF-8 in its first
/// row) prints no JSON that reads as a result: before, `[]` went to stdout, a valid "no
/// rows" for whatever reads it.
#[test]
fn cluster_a_failed_query_prints_no_empty_json_result() {
    let cluster = start(1);
    let out = shell(&cluster, "json")
        .args(["--format", "json", "-c"])
        .arg("SELECT 1 AS a, CAST(x'ff41' AS TEXT) AS b")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("not valid UTF-8")
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "");
}

/// `.timeout MS`, as in sqlite3: how long a statement waits for a write lock another
/// connection holds. Before, it was an unknown command (a sqlite3 script that sets it
/// failed with status 1), and the wait stayed at the default 5 s.
#[test]
fn cluster_dot_timeout_sets_the_busy_timeout() {
    use std::io::BufRead as _;
    let cluster = start(1);
    run(&cluster, "busy", &["CREATE TABLE k (a)"]);
    let mut holder = shell(&cluster, "busy")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = holder.stdin.take().unwrap();
    let mut stdout = std::io::BufReader::new(holder.stdout.take().unwrap());
    writeln!(stdin, "BEGIN;\nINSERT INTO k VALUES (1);\nSELECT 'held';").unwrap();
    stdin.flush().unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "held\n");
    // A short timeout gives up quickly.
    let started = Instant::now();
    let out = shell(&cluster, "busy")
        .args(["-c", ".timeout 200", "-c", "INSERT INTO k VALUES (2)"])
        .output()
        .unwrap();
    let waited = started.elapsed();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("database is locked"), "{stderr}");
    assert!(waited < Duration::from_secs(3), "waited {waited:?}");
    // A long one outlasts the holder, which commits after a second.
    let waiter = shell(&cluster, "busy")
        .args(["-c", ".timeout 20000", "-c", "INSERT INTO k VALUES (3)"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    writeln!(stdin, "COMMIT;").unwrap();
    drop(stdin);
    assert!(holder.wait().unwrap().success());
    let out = waiter.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(run(&cluster, "busy", &["SELECT count(*) FROM k"]), "2\n");
    // Usage.
    shell(&cluster, "busy")
        .args(["-c", ".timeout soon"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("milliseconds"));
}

/// A script line that is not UTF-8: the error says which line, nothing after it runs, and
/// a script that `.read` it goes on after it (without --bail), as after other errors.
#[test]
fn cluster_a_script_line_that_is_not_utf8_is_named() {
    let cluster = start(1);
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.sql");
    std::fs::write(&bad, b"SELECT 1;\nSELECT 2; -- caf\xe9\nSELECT 3;\n").unwrap();
    let out = shell(&cluster, "utf8")
        .stdin(std::fs::File::open(&bad).unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "1\n");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("Error: near line 2: cannot read the input"),
        "{stderr}"
    );
    let out = run_stdin(
        &cluster,
        "utf8",
        &[],
        &format!(".read {}\nSELECT 4;\n", bad.display()),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "1\n4\n");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with("Error: near line 2: "), "{stderr}");
}

/// The leader changes between a transaction's last statement and its COMMIT (or
/// ROLLBACK). The node refused the COMMIT before running it ("not leader"), so the
/// transaction is known to be rolled back: the shell says so, rather than a bare "not
/// leader" that invites a second COMMIT; and a ROLLBACK met that way did its job.
#[test]
fn cluster_commit_after_a_leader_change_says_the_transaction_is_gone() {
    use std::io::BufRead as _;
    let cluster = start(3);
    run(&cluster, "gone", &["CREATE TABLE k (a)"]);
    let mut child = shell(&cluster, "gone")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut ask = |stdin: &mut std::process::ChildStdin, sql: &str| {
        writeln!(stdin, "{sql}").unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        line
    };
    assert_eq!(
        ask(&mut stdin, "BEGIN; INSERT INTO k VALUES (1); SELECT 'one';"),
        "one\n"
    );
    cluster.transfer_leadership(None).unwrap();
    assert_eq!(
        ask(
            &mut stdin,
            "COMMIT;\nBEGIN; INSERT INTO k VALUES (2); SELECT 'two';"
        ),
        "two\n"
    );
    cluster.transfer_leadership(None).unwrap();
    assert_eq!(ask(&mut stdin, "ROLLBACK;\nSELECT count(*) FROM k;"), "0\n");
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("Error: near line 2: cannot commit: the transaction was rolled back"),
        "{stderr}"
    );
}

/// Ctrl-C on a statement still waiting for a leader (the cluster has lost its quorum):
/// the shell gives the prompt back, and the statement must not run later, when a leader
/// appears. Before, the abandoned worker went on waiting, connected, and wrote the row
/// long after the user had given up on it.
#[test]
fn cluster_ctrl_c_before_a_leader_is_found_drops_the_statement() {
    let mut cluster = start(3);
    run(&cluster, "quorum", &["CREATE TABLE k (a)"]);
    let mut child = interactive(&cluster, "quorum");
    let mut stdin = child.stdin.take().unwrap();
    // No statement yet: the shell connects at the first one, when there is no leader.
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).unwrap();
    let other = (leader + 1) % 3;
    cluster.kill(leader).unwrap();
    cluster.kill(other).unwrap();
    writeln!(stdin, "INSERT INTO k VALUES (1);").unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    interrupt(&child);
    std::thread::sleep(Duration::from_millis(1500));
    // The quorum comes back while the shell still runs.
    cluster.restart(leader).unwrap();
    cluster.restart(other).unwrap();
    cluster.wait_for_leader(Duration::from_secs(20)).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let count = run(&cluster, "quorum", &["SELECT count(*) FROM k"]);
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("Interrupted before the statement was sent: it will not run"),
        "{stderr}"
    );
    assert_eq!(count, "0\n", "the interrupted INSERT ran later: {stderr}");
}

/// A backup its owner made private (it holds the whole database) stays private when
/// `.backup` replaces it; before, the new file took the umask's mode (world-readable).
#[cfg(unix)]
#[test]
fn cluster_backup_keeps_the_mode_of_the_file_it_replaces() {
    use std::os::unix::fs::PermissionsExt as _;
    let cluster = start(1);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("private.db");
    let backup = format!(".backup {}", file.display());
    run(&cluster, "private", &["CREATE TABLE t (a)", &backup]);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    run(&cluster, "private", &["INSERT INTO t VALUES (1)", &backup]);
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
}

/// An infinite real in json mode is written as sqlite3 writes it (`9.0e+999`, which JSON
/// readers take as infinity), not as `null`, which reads as a NULL the table does not hold.
#[test]
fn cluster_json_writes_infinities_as_numbers() {
    let cluster = start(1);
    let out = run(
        &cluster,
        "inf",
        &[".mode json", "SELECT 1e999 AS p, -1e999 AS n, NULL AS z"],
    );
    assert_eq!(out, "[{\"p\":9.0e+999,\"n\":-9.0e+999,\"z\":null}]\n");
}
