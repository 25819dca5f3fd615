//! `dqlite-shell`: an interactive SQL shell and admin tool for dqlite clusters.
//!
//! Built on the blocking API of `dqlite-client`. See the crate's README for usage.

mod admin;
mod backup;
mod cli;
mod dot;
mod dump;
mod error;
mod interrupt;
mod output;
mod repl;
mod script;
mod shell;
mod worker;

use std::io::{self, BufRead, IsTerminal};
use std::process::ExitCode;

use clap::Parser;
use dqlite_client::blocking::Cluster;
use dqlite_client::{Config, FileNodeStore, NodeStore, TlsConfig};

use crate::cli::Args;
use crate::error::ShellError;
use crate::output::{Mode, Settings};
use crate::shell::{Flow, Shell, Source};

/// Exit status for bad arguments or a configuration that cannot work.
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let args = Args::parse();
    let mut shell = match build(&args) {
        Ok(shell) => shell,
        Err(e) => {
            eprintln!("Error: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if let Err(e) = interrupt::install() {
        eprintln!("warning: Ctrl-C cannot interrupt statements: {e}");
    }
    let stdin = io::stdin();
    let code = if !args.commands.is_empty() {
        let mut code = None;
        for command in &args.commands {
            match shell.run_text(command, Source::Direct) {
                Flow::Continue => {}
                Flow::Stop => break,
                Flow::Exit(c) => {
                    code = Some(c);
                    break;
                }
            }
        }
        code.unwrap_or_else(|| batch_status(&shell))
    } else if args.interactive || stdin.is_terminal() {
        let banner = format!(
            "dqlite-shell {}: database {:?} on {}\nEnter \".help\" for usage hints.",
            env!("CARGO_PKG_VERSION"),
            shell.database(),
            shell
                .config
                .seeds()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        );
        repl::run(&mut shell, &banner)
    } else {
        let mut lines = stdin.lock().lines();
        match shell.run_lines(&mut lines, Source::Script) {
            Flow::Exit(c) => c,
            Flow::Continue | Flow::Stop => batch_status(&shell),
        }
    };
    use std::io::Write as _;
    if let Err(e) = shell.out.flush() {
        eprintln!("Error: {}", ShellError::Output(e));
        return ExitCode::from(1);
    }
    ExitCode::from(code)
}

/// The exit status after batch input: 130 after Ctrl-C, 1 after any error, else 0.
fn batch_status(shell: &Shell) -> u8 {
    if shell.interrupted {
        interrupt::EXIT_STATUS
    } else {
        u8::from(shell.failed)
    }
}

/// The shell the arguments describe.
fn build(args: &Args) -> Result<Shell, ShellError> {
    let mut seeds = args.servers.clone();
    if seeds.is_empty()
        && let Some(path) = &args.store
    {
        seeds = FileNodeStore::new(path)
            .get()?
            .into_iter()
            .map(|n| n.address)
            .collect();
    }
    if seeds.is_empty() {
        return Err(ShellError::usage(
            "no node to connect to: give -s/--servers host:port,... (or DQLITE_SERVERS), \
             or --store FILE",
        ));
    }
    let mut config = Config::new(&seeds)?
        .database(args.database())
        .request_timeout(args.timeout)
        .connect_timeout(args.timeout)
        .dial_timeout(args.timeout.min(std::time::Duration::from_secs(5)));
    let ca = args.ca.as_deref().or(args.cert.as_deref());
    if let Some(ca) = ca {
        let identity = args.cert.as_deref().zip(args.key.as_deref());
        config = config.tls(TlsConfig::from_pem_files(ca, identity)?);
    }
    let cluster = match &args.store {
        Some(path) => Cluster::from_async(dqlite_client::Cluster::with_store(
            config.clone(),
            Box::new(FileNodeStore::new(path)),
        )),
        None => Cluster::new(config.clone())?,
    };
    let mode = args.format.unwrap_or(if io::stdout().is_terminal() {
        Mode::Table
    } else {
        Mode::List
    });
    let mut settings = Settings::new(mode);
    settings.headers = args.headers && !args.no_headers;
    if let Some(null) = &args.nullvalue {
        settings.null_value.clone_from(null);
    }
    if let Some(separator) = &args.separator {
        settings.separator = dot::unescape(separator);
    }
    let mut shell = Shell::new(cluster, config, settings);
    shell.store.clone_from(&args.store);
    shell.flags.bail = args.bail;
    shell.flags.echo = args.echo;
    Ok(shell)
}
