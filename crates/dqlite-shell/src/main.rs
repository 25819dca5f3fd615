//! `dqlite-shell`: an interactive SQL shell and admin tool for dqlite clusters.
//!
//! Built on the blocking API of `dqlite-client`. See the crate's README for usage.

mod admin;
mod backup;
mod cli;
mod dot;
mod dump;
mod error;
mod import;
mod interrupt;
mod output;
mod repl;
mod script;
mod shell;
mod target;
mod worker;

use std::io::{self, BufRead, IsTerminal};
use std::process::ExitCode;

use clap::Parser;

use crate::cli::Args;
use crate::error::ShellError;
use crate::output::{Mode, Settings};
use crate::shell::{Flow, Shell, Source};

/// Exit status for bad arguments or a configuration that cannot work.
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let args = Args::parse_from(cli::go_dqlite_aliases(std::env::args_os().collect()));
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
    let commands = args.commands();
    let code = if !commands.is_empty() {
        let mut code = None;
        for command in &commands {
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
    let target = target::resolve(args)?;
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
    let mut shell = Shell::new(target.cluster, target.config, settings);
    shell.store = target.store;
    shell.flags.bail = args.bail;
    shell.flags.echo = args.echo;
    Ok(shell)
}
