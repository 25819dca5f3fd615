//! Command-line arguments.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::output::Mode;

/// An interactive SQL shell and admin tool for dqlite clusters.
///
/// With no -c and a terminal on stdin, the shell prompts; otherwise it runs the commands
/// given with -c (or as the argument after DATABASE), or those read from stdin, and exits
/// with status 1 if any failed. go-dqlite's `dqlite` arguments work too: `-s
/// file://STORE`, `-c CERT -k KEY` (with -k, -c is the certificate), `--format tabular`.
#[derive(Debug, Parser)]
#[command(name = "dqlite-shell", version, after_help = EXAMPLES)]
pub struct Args {
    /// The database to open (created on first use) [default: the connection string's,
    /// $DQLITE_DATABASE, or "default"]
    #[arg(value_name = "DATABASE")]
    pub database_arg: Option<String>,

    /// SQL or a dot-command to run after any -c, then exit (as go-dqlite's shell and
    /// sqlite3 take it)
    #[arg(value_name = "COMMAND")]
    pub command_arg: Option<String>,

    /// The database to open, as an option
    #[arg(short = 'd', long = "database", conflicts_with = "database_arg")]
    pub database: Option<String>,

    /// The cluster: host:port,... (IPv6 hosts in brackets, /unix/path, @abstract), a
    /// connection string dqlite://host:port,.../DATABASE?timeout=5s&tls_cert=..., or
    /// go-dqlite's node store file://PATH (YAML when PATH ends in .yaml, SQLite
    /// otherwise). Repeatable. [default: $DQLITE_SERVERS]
    #[arg(short = 's', long = "servers", value_name = "SERVERS")]
    pub servers: Vec<String>,

    /// A node-store file (lines of "ID ADDRESS ROLE") to find the cluster through;
    /// `.cluster` keeps it up to date
    #[arg(long, value_name = "FILE")]
    pub store: Option<PathBuf>,

    /// Deadline of each request and of finding the leader: 500ms, 10s, 2m... [default:
    /// the connection string's, or 10s per request and 30s to find the leader]
    #[arg(long, value_parser = positive_duration)]
    pub timeout: Option<Duration>,

    /// TLS: the certificate (PEM) to present to the nodes, with --key (go-dqlite's -c)
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,

    /// TLS: the private key (PEM) of --cert
    #[arg(short = 'k', long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,

    /// TLS: the CA certificate (PEM) to check the nodes against [default: --cert, as
    /// dqlite clusters share one self-signed certificate]
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,

    /// Run this SQL or dot-command, then exit (repeatable; run in order)
    #[arg(short = 'c', long = "command", value_name = "SQL")]
    pub commands: Vec<String>,

    /// Output mode [default: table on a terminal, list otherwise]; go-dqlite's
    /// `tabular` is list
    #[arg(short = 'f', long = "format", visible_alias = "mode", value_enum)]
    pub format: Option<Mode>,

    /// Column names in list and csv output
    #[arg(
        long = "headers",
        visible_alias = "header",
        overrides_with = "no_headers"
    )]
    pub headers: bool,

    /// No column names in list and csv output
    #[arg(long = "no-headers", visible_alias = "noheader")]
    pub no_headers: bool,

    /// Write NULL as this text
    #[arg(long, value_name = "TEXT")]
    pub nullvalue: Option<String>,

    /// Column separator of list mode
    #[arg(long, value_name = "SEP")]
    pub separator: Option<String>,

    /// Stop at the first error
    #[arg(long)]
    pub bail: bool,

    /// Print each command before running it
    #[arg(long)]
    pub echo: bool,

    /// Prompt even when stdin is not a terminal
    #[arg(short = 'i', long)]
    pub interactive: bool,
}

const EXAMPLES: &str = "\
Examples:
  dqlite-shell -s 127.0.0.1:9001,127.0.0.1:9002 app
  dqlite-shell -s 127.0.0.1:9001 app -c 'SELECT * FROM t' --format json
  dqlite-shell -s 127.0.0.1:9001 app -c .cluster -c .leader
  dqlite-shell -s 127.0.0.1:9001 app < script.sql
  dqlite-shell -s 127.0.0.1:9001 app -c .dump > app.sql";

/// A positive duration: `500ms`, `10s`, `2m`, `1h`, or a number of seconds.
fn positive_duration(text: &str) -> Result<Duration, String> {
    match dqlite_client::parse_duration(text) {
        Ok(d) if d.is_zero() => Err(format!("{text:?} is not a positive duration")),
        Ok(d) => Ok(d),
        Err(dqlite_client::Error::Config(message)) => Err(message),
        Err(e) => Err(e.to_string()),
    }
}

/// The command line with go-dqlite's `-c CERT` read as `--cert`: when a key is given
/// with `-k`/`--key` (go-dqlite takes the two together) and no `--cert`, `-c` names the
/// certificate; otherwise `-c` stays the command to run.
pub fn go_dqlite_aliases(args: Vec<OsString>) -> Vec<OsString> {
    let options = args
        .iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .filter_map(|a| a.to_str());
    let (mut key, mut cert) = (false, false);
    for arg in options {
        key |= arg == "-k"
            || arg.starts_with("--key")
            || (arg.starts_with("-k") && !arg.starts_with("--"));
        cert |= arg.starts_with("--cert");
    }
    if !key || cert {
        return args;
    }
    let mut out = Vec::with_capacity(args.len());
    let mut options_done = false;
    for (index, arg) in args.into_iter().enumerate() {
        let text = arg.to_str().map(str::to_owned);
        match text.as_deref() {
            _ if index == 0 || options_done => out.push(arg),
            Some("--") => {
                options_done = true;
                out.push(arg);
            }
            Some("-c") => out.push("--cert".into()),
            Some(t) if t.starts_with("-c") => {
                let value = t.get(2..).unwrap_or_default();
                let value = value.strip_prefix('=').unwrap_or(value);
                out.push(format!("--cert={value}").into());
            }
            _ => out.push(arg),
        }
    }
    out
}

impl Args {
    /// The database named on the command line, if any.
    pub fn database(&self) -> Option<&str> {
        self.database.as_deref().or(self.database_arg.as_deref())
    }

    /// The commands to run, in order: each -c, then the argument after DATABASE.
    pub fn commands(&self) -> Vec<String> {
        let mut commands = self.commands.clone();
        commands.extend(self.command_arg.clone());
        commands
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(
            positive_duration("500ms").unwrap(),
            Duration::from_millis(500)
        );
        assert_eq!(
            positive_duration("1.5s").unwrap(),
            Duration::from_millis(1500)
        );
        assert!(positive_duration("0s").is_err());
        assert!(positive_duration("ten").is_err());
    }

    #[test]
    fn arguments() {
        let args = Args::try_parse_from([
            "dqlite-shell",
            "-s",
            "a:1,b:2",
            "app",
            "-c",
            "SELECT 1",
            "-c",
            ".tables",
            "--format",
            "json",
        ])
        .unwrap();
        assert_eq!(args.servers, vec!["a:1,b:2"]);
        assert_eq!(args.database(), Some("app"));
        assert_eq!(args.commands(), vec!["SELECT 1", ".tables"]);
        assert_eq!(args.format, Some(Mode::Json));
        let args = Args::try_parse_from(["dqlite-shell", "-d", "x", "--mode", "csv"]).unwrap();
        assert_eq!(args.database(), Some("x"));
        assert_eq!(args.format, Some(Mode::Csv));
        assert!(Args::try_parse_from(["dqlite-shell", "--cert", "c.pem"]).is_err());
    }

    fn go(args: &[&str]) -> Args {
        let argv = args.iter().map(OsString::from).collect();
        Args::try_parse_from(go_dqlite_aliases(argv)).unwrap()
    }

    #[test]
    fn go_dqlite_command_lines() {
        // dqlite -s file://cluster.yaml -c cluster.crt -k cluster.key -f tabular db "SELECT 1"
        let args = go(&[
            "dqlite",
            "-s",
            "file:///x/cluster.yaml",
            "-c",
            "c.crt",
            "-k",
            "c.key",
            "-f",
            "tabular",
            "db",
            "SELECT 1; SELECT 2",
        ]);
        assert_eq!(args.cert.as_deref(), Some(std::path::Path::new("c.crt")));
        assert_eq!(args.key.as_deref(), Some(std::path::Path::new("c.key")));
        assert_eq!(args.format, Some(Mode::List));
        assert_eq!(args.database(), Some("db"));
        assert_eq!(args.commands(), vec!["SELECT 1; SELECT 2"]);
        let args = go(&["dqlite", "--key=k", "-cc.crt", "-s", "a:1", "db"]);
        assert_eq!(args.cert.as_deref(), Some(std::path::Path::new("c.crt")));
        let args = go(&["dqlite", "-k", "k", "-c=c.crt", "db"]);
        assert_eq!(args.cert.as_deref(), Some(std::path::Path::new("c.crt")));
        // Without a key, -c is a command, as it always was here.
        let args = go(&["dqlite-shell", "-s", "a:1", "-c", "SELECT 1", "db"]);
        assert_eq!(args.commands, vec!["SELECT 1"]);
        // With --cert given, -c stays a command.
        let args = go(&["dqlite-shell", "--cert", "c", "-k", "k", "-c", ".cluster"]);
        assert_eq!(args.commands, vec![".cluster"]);
        // After "--", nothing is rewritten.
        let args = go(&["dqlite-shell", "-k", "k", "-c", "c", "--", "db", "-c"]);
        assert_eq!(args.cert.as_deref(), Some(std::path::Path::new("c")));
        assert_eq!(args.command_arg.as_deref(), Some("-c"));
        let args = go(&["dqlite-shell", "--format", "json", "-s", "a:1", "-s", "b:2"]);
        assert_eq!(args.servers, vec!["a:1", "b:2"]);
    }
}
