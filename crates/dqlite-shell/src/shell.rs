//! The shell's state and how input is run: lines are cut into dot-commands and SQL
//! statements, statements go to the [`Worker`], results to the [`Printer`].

use std::fs::File;
use std::io::{self, BufWriter, Stdout, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use dqlite_client::blocking::Cluster;
use dqlite_client::{Config, Row, Value, sql};

use crate::dot;
use crate::error::ShellError;
use crate::output::{Printer, Settings};
use crate::script::{Accumulator, Piece};
use crate::target::StoreFile;
use crate::worker::{Event, Outcome, Worker};

/// How deep `.read` may nest.
const MAX_READ_DEPTH: usize = 16;

/// What to do after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on with the next command.
    Continue,
    /// Stop the input being read (an error under `.bail on`, or Ctrl-C).
    Stop,
    /// Leave the shell with this status (`.exit`).
    Exit(u8),
}

/// Where input comes from, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Typed at the prompt, or given with `-c`: errors without line numbers.
    Direct,
    /// A script (standard input, `.read`): errors say near which line.
    Script,
}

/// Switches that dot-commands turn on and off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    /// Print the time each statement took (`.timer`).
    pub timer: bool,
    /// Print rows changed after each statement (`.changes`).
    pub changes: bool,
    /// Print each command before running it (`.echo`).
    pub echo: bool,
    /// Stop at the first error (`.bail`).
    pub bail: bool,
}

/// Where output goes: standard output or a file (`.output`, `.once`).
#[derive(Debug)]
pub struct Output {
    sink: Sink,
    /// Set by `.once`: go back to stdout after the next command.
    once: bool,
}

#[derive(Debug)]
enum Sink {
    Stdout(BufWriter<Stdout>),
    File(PathBuf, BufWriter<File>),
}

impl Output {
    /// Output to standard output.
    pub fn stdout() -> Self {
        Output {
            sink: Sink::Stdout(BufWriter::new(io::stdout())),
            once: false,
        }
    }

    /// Sends output to `path` (truncated), for good or (`once`) for the next command.
    pub fn redirect_to(&mut self, path: &Path, once: bool) -> Result<(), ShellError> {
        let file = File::create(path)
            .map_err(|e| ShellError::file(format!("cannot open {}", path.display()), e))?;
        self.flush()?;
        self.sink = Sink::File(path.to_owned(), BufWriter::new(file));
        self.once = once;
        Ok(())
    }

    /// Sends output to standard output again.
    pub fn reset_to_stdout(&mut self) -> Result<(), ShellError> {
        self.flush()?;
        self.sink = Sink::Stdout(BufWriter::new(io::stdout()));
        self.once = false;
        Ok(())
    }

    /// The file output goes to, if not stdout.
    pub fn file(&self) -> Option<&Path> {
        match &self.sink {
            Sink::Stdout(_) => None,
            Sink::File(path, _) => Some(path),
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.sink {
            Sink::Stdout(w) => w.write(buf),
            Sink::File(_, w) => w.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match &mut self.sink {
            Sink::Stdout(w) => w.write_all(buf),
            Sink::File(_, w) => w.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Stdout(w) => w.flush(),
            Sink::File(_, w) => w.flush(),
        }
    }
}

/// The shell: connection, settings, output, and what happened so far.
#[derive(Debug)]
pub struct Shell {
    /// The cluster, for admin commands (each opens its own connection to the leader).
    pub cluster: Cluster,
    /// The configuration, for connections to one named node.
    pub config: Config,
    /// The node store, refreshed by `.cluster`, if one was given.
    pub store: Option<StoreFile>,
    /// Runs SQL on the shell's own connection.
    pub worker: Worker,
    /// Output mode and its options.
    pub settings: Settings,
    /// Where results go.
    pub out: Output,
    /// `.timer`, `.changes`, `.echo`, `.bail`.
    pub flags: Flags,
    /// Rows changed since the shell started.
    pub total_changes: u64,
    /// Set by any error: the exit status will be 1.
    pub failed: bool,
    /// Set by Ctrl-C in a script: the exit status will be 130.
    pub interrupted: bool,
    depth: usize,
}

impl Shell {
    /// A shell on `cluster`, connecting lazily.
    pub fn new(cluster: Cluster, config: Config, settings: Settings) -> Self {
        Shell {
            worker: Worker::new(cluster.clone()),
            cluster,
            config,
            store: None,
            settings,
            out: Output::stdout(),
            flags: Flags::default(),
            total_changes: 0,
            failed: false,
            interrupted: false,
            depth: 0,
        }
    }

    /// The database the shell opens.
    pub fn database(&self) -> &str {
        self.config.database_name()
    }

    /// Runs every command in `lines`, reporting errors as it goes.
    pub fn run_lines(
        &mut self,
        lines: &mut dyn Iterator<Item = io::Result<String>>,
        source: Source,
    ) -> Flow {
        let mut acc = Accumulator::new();
        for (line_no, line) in (1..).zip(lines) {
            let line = match line {
                Ok(line) => line,
                Err(e) => {
                    // Nothing after it can run: a statement may be cut (a line not UTF-8
                    // is skipped by the reader). A script that `.read` this one goes on,
                    // as after any error.
                    let e = ShellError::file("cannot read the input (nothing after it runs)", e);
                    self.report(&e, (source == Source::Script).then_some(line_no));
                    return if self.flags.bail {
                        Flow::Stop
                    } else {
                        Flow::Continue
                    };
                }
            };
            if let Some(piece) = acc.push(&line) {
                let flow = self.run_piece(piece, source);
                if flow != Flow::Continue {
                    return flow;
                }
            }
        }
        match acc.finish() {
            Some(piece) => self.run_piece(piece, source),
            None => Flow::Continue,
        }
    }

    /// Runs text (`-c`, a prompt entry) line by line.
    pub fn run_text(&mut self, text: &str, source: Source) -> Flow {
        let mut lines = text.lines().map(|l| Ok(l.to_owned()));
        self.run_lines(&mut lines, source)
    }

    /// Runs the commands of a file (`.read`).
    pub fn run_file(&mut self, path: &Path) -> Result<Flow, ShellError> {
        if self.depth >= MAX_READ_DEPTH {
            return Err(ShellError::usage(format!(
                ".read nested more than {MAX_READ_DEPTH} deep"
            )));
        }
        let file = File::open(path)
            .map_err(|e| ShellError::file(format!("cannot open {}", path.display()), e))?;
        let mut lines = io::BufRead::lines(io::BufReader::new(file));
        self.depth += 1;
        let flow = self.run_lines(&mut lines, Source::Script);
        self.depth -= 1;
        Ok(flow)
    }

    fn run_piece(&mut self, piece: Piece, source: Source) -> Flow {
        let once = self.out.once;
        let flow = match piece {
            Piece::Dot { line, line_no } => {
                if self.flags.echo {
                    self.echo(&line);
                }
                let result = dot::run(self, &line);
                match result {
                    Ok(flow) => flow,
                    Err(e) => self.settle(Err(e), line_no, source),
                }
            }
            Piece::Sql { text, line_no } => self.run_sql(&text, line_no, source),
        };
        if once && self.out.once {
            let reset = self.out.reset_to_stdout();
            if let Err(e) = reset {
                self.report(&e, None);
            }
        }
        flow
    }

    fn run_sql(&mut self, text: &str, first_line: usize, source: Source) -> Flow {
        for statement in sql::split_statements(text) {
            let line_no = first_line + newlines_before(text, statement);
            if self.flags.echo {
                self.echo(&format!("{statement};"));
            }
            let result = self.run_statement(statement);
            let flow = self.settle(result, line_no, source);
            if flow != Flow::Continue {
                return flow;
            }
        }
        Flow::Continue
    }

    /// Reports an error (if any) and says whether to go on.
    fn settle(&mut self, result: Result<(), ShellError>, line_no: usize, source: Source) -> Flow {
        match result {
            Ok(()) => Flow::Continue,
            Err(ShellError::Interrupted) => {
                self.interrupted = true;
                Flow::Stop
            }
            Err(e) => {
                let line = (source == Source::Script).then_some(line_no);
                self.report(&e, line);
                if self.flags.bail {
                    Flow::Stop
                } else {
                    Flow::Continue
                }
            }
        }
    }

    /// Prints `Error: ...` on stderr and remembers that something failed.
    pub fn report(&mut self, error: &ShellError, line_no: Option<usize>) {
        self.failed = true;
        let _ = self.out.flush();
        match line_no {
            Some(n) => eprintln!("Error: near line {n}: {error}"),
            None => eprintln!("Error: {error}"),
        }
    }

    fn echo(&mut self, text: &str) {
        if writeln!(self.out, "{text}").is_err() {
            self.failed = true;
        }
    }

    /// Runs one statement and prints its result in the current mode.
    pub fn run_statement(&mut self, statement: &str) -> Result<(), ShellError> {
        let started = Instant::now();
        let settings = &self.settings;
        let out = &mut self.out;
        let mut printer: Option<Printer> = None;
        let outcome = self
            .worker
            .run(statement, Vec::new(), &mut |event| match event {
                Event::Columns(columns) => {
                    printer = Some(Printer::new(settings, columns));
                    Ok(())
                }
                Event::Rows(rows) => match printer.as_mut() {
                    Some(p) => rows.iter().try_for_each(|r| p.row(out, r.values())),
                    None => Ok(()),
                },
            });
        // Rows printed before an error stay printed; close what they opened.
        if let Some(printer) = printer {
            match &outcome {
                Ok(Outcome::Interrupted { .. }) => printer.abandon(out)?,
                Ok(_) => printer.finish(out)?,
                Err(_) => {
                    let _ = printer.fail(out);
                }
            }
        }
        out.flush()?;
        if self.flags.timer {
            eprintln!("Run Time: real {:.3}", started.elapsed().as_secs_f64());
        }
        match outcome? {
            Outcome::Exec(result) => {
                self.total_changes += result.rows_affected;
                if self.flags.changes {
                    writeln!(
                        self.out,
                        "changes: {}   total_changes: {}",
                        result.rows_affected, self.total_changes
                    )?;
                    self.out.flush()?;
                }
                Ok(())
            }
            Outcome::Rows(_) => Ok(()),
            Outcome::Interrupted { reset, sent } => {
                if self.worker.transaction_lost() {
                    eprintln!(
                        "Interrupted: the statement did not stop in time, so its connection \
                         was closed, and the open transaction was rolled back; statements \
                         are refused until ROLLBACK"
                    );
                } else if !sent {
                    eprintln!("Interrupted before the statement was sent: it will not run");
                } else if reset && sql::classify(statement) != sql::StatementKind::Query {
                    // Closing the connection does not stop a write the node is running.
                    eprintln!(
                        "Interrupted: the shell stopped waiting, but the statement was already \
                         running on the node and may still complete, with its changes"
                    );
                } else if reset {
                    eprintln!(
                        "Interrupted: the statement did not stop in time, so its connection \
                         was closed"
                    );
                } else {
                    eprintln!("Interrupted");
                }
                Err(ShellError::Interrupted)
            }
        }
    }

    /// Runs a query on the shell's connection and collects its rows (for dot-commands).
    pub fn query(&mut self, statement: &str, params: Vec<Value>) -> Result<Vec<Row>, ShellError> {
        let mut rows = Vec::new();
        stream_rows(&mut self.worker, statement, params, &mut |row| {
            rows.push(row);
            Ok(())
        })?;
        Ok(rows)
    }
}

/// Runs a query on `worker`'s connection and hands each row to `each` as it arrives.
pub fn stream_rows(
    worker: &mut Worker,
    statement: &str,
    params: Vec<Value>,
    each: &mut dyn FnMut(Row) -> io::Result<()>,
) -> Result<(), ShellError> {
    let outcome = worker.run(statement, params, &mut |event| match event {
        Event::Columns(_) => Ok(()),
        Event::Rows(rows) => rows.into_iter().try_for_each(&mut *each),
    })?;
    match outcome {
        Outcome::Interrupted { .. } => {
            eprintln!("Interrupted");
            Err(ShellError::Interrupted)
        }
        Outcome::Rows(_) | Outcome::Exec(_) => Ok(()),
    }
}

/// The number of line ends in `text` before `part`, a slice of it.
fn newlines_before(text: &str, part: &str) -> usize {
    let offset = (part.as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
    text.get(..offset)
        .map_or(0, |before| before.matches('\n').count())
}
