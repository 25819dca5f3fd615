//! Command-line arguments.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::output::Mode;

/// An interactive SQL shell and admin tool for dqlite clusters.
///
/// With no -c and a terminal on stdin, the shell prompts; otherwise it runs the commands
/// given with -c, or those read from stdin, and exits with status 1 if any failed.
#[derive(Debug, Parser)]
#[command(name = "dqlite-shell", version, after_help = EXAMPLES)]
pub struct Args {
    /// The database to open (created on first use)
    #[arg(value_name = "DATABASE")]
    pub database_arg: Option<String>,

    /// The database to open, as an option [default: default]
    #[arg(short = 'd', long = "database", conflicts_with = "database_arg")]
    pub database: Option<String>,

    /// Node addresses, comma-separated: host:port (IPv6 hosts in brackets), /unix/path or
    /// @abstract
    #[arg(
        short = 's',
        long = "servers",
        value_delimiter = ',',
        env = "DQLITE_SERVERS"
    )]
    pub servers: Vec<String>,

    /// A node-store file (lines of "ID ADDRESS ROLE") to find the cluster through;
    /// `.cluster` keeps it up to date
    #[arg(long, value_name = "FILE")]
    pub store: Option<PathBuf>,

    /// Deadline of each request and of finding the leader: 500ms, 10s, 2m...
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    pub timeout: Duration,

    /// TLS: the certificate (PEM) to present to the nodes, with --key
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,

    /// TLS: the private key (PEM) of --cert
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,

    /// TLS: the CA certificate (PEM) to check the nodes against [default: --cert, as
    /// dqlite clusters share one self-signed certificate]
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,

    /// Run this SQL or dot-command, then exit (repeatable; run in order)
    #[arg(short = 'c', long = "command", value_name = "SQL")]
    pub commands: Vec<String>,

    /// Output mode [default: table on a terminal, list otherwise]
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

/// Parses `500ms`, `10s`, `2m`, `1h`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 500ms, 10s or 2m"))?;
    let seconds = match unit.trim() {
        "ms" => number / 1000.0,
        "" | "s" => number,
        "m" | "min" => number * 60.0,
        "h" => number * 3600.0,
        other => return Err(format!("unknown time unit {other:?}: use ms, s, m or h")),
    };
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{text:?} is not a positive duration"))
}

impl Args {
    /// The database name.
    pub fn database(&self) -> &str {
        self.database
            .as_deref()
            .or(self.database_arg.as_deref())
            .unwrap_or("default")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5 parsecs").is_err());
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
        assert_eq!(args.servers, vec!["a:1", "b:2"]);
        assert_eq!(args.database(), "app");
        assert_eq!(args.commands, vec!["SELECT 1", ".tables"]);
        assert_eq!(args.format, Some(Mode::Json));
        let args = Args::try_parse_from(["dqlite-shell", "-d", "x", "--mode", "csv"]).unwrap();
        assert_eq!(args.database(), "x");
        assert_eq!(args.format, Some(Mode::Csv));
        assert!(Args::try_parse_from(["dqlite-shell", "--cert", "c.pem"]).is_err());
    }
}
