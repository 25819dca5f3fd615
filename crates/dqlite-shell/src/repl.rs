//! The interactive prompt: line editing and history (rustyline), multi-line statements,
//! completion of dot-command names.
//!
//! Enter on a line that does not end a statement (see [`crate::script`]) opens another
//! line in the same entry, so a whole statement is edited and recalled as one history
//! entry. Ctrl-C at the prompt clears the entry; Ctrl-D on an empty line leaves. History
//! is kept in `$XDG_STATE_HOME/dqlite-shell/history` (`~/.local/state/...` without it), or
//! in `$DQLITE_SHELL_HISTORY`.

use std::borrow::Cow;
use std::io::IsTerminal;
use std::path::PathBuf;

use rustyline::completion::Completer;
use rustyline::config::{Behavior, Config};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::FileHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Editor, Helper};

use crate::dot::COMMANDS;
use crate::interrupt;
use crate::script::is_entry_complete;
use crate::shell::{Flow, Shell, Source};

const PROMPT: &str = "dqlite> ";
const CONTINUATION: &str = "   ...> ";
const HISTORY_SIZE: usize = 10_000;

/// The line editor's helper: statement-aware Enter and dot-command completion.
#[derive(Debug, Default)]
struct ShellHelper;

impl Validator for ShellHelper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        Ok(if is_entry_complete(ctx.input()) {
            ValidationResult::Valid(None)
        } else {
            ValidationResult::Incomplete
        })
    }
}

impl Completer for ShellHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let typed = line.get(..pos).unwrap_or_default();
        let start = typed.rfind('\n').map_or(0, |n| n + 1);
        let word = typed.get(start..).unwrap_or_default();
        if !word.starts_with('.') || word.contains(char::is_whitespace) {
            return Ok((pos, Vec::new()));
        }
        let candidates = COMMANDS
            .iter()
            .map(|(name, _, _)| *name)
            .filter(|name| name.starts_with(word))
            .map(|name| format!("{name} "))
            .collect();
        Ok((start, candidates))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        _default: bool,
    ) -> Cow<'b, str> {
        Cow::Borrowed(prompt)
    }
}

impl Helper for ShellHelper {}

/// Where the history is kept.
pub fn history_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("DQLITE_SHELL_HISTORY") {
        return Some(PathBuf::from(path));
    }
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::home_dir().map(|home| home.join(".local").join("state")))?;
    Some(state.join("dqlite-shell").join("history"))
}

/// Runs the prompt until Ctrl-D or `.exit`; returns the exit status.
pub fn run(shell: &mut Shell, banner: &str) -> u8 {
    let config = Config::builder()
        .auto_add_history(false)
        .history_ignore_space(true)
        // On a terminal, prompt on it even when stdout goes to a file; with `-i` over a
        // pipe, read the pipe.
        .behavior(if std::io::stdin().is_terminal() {
            Behavior::PreferTerm
        } else {
            Behavior::Stdio
        })
        .max_history_size(HISTORY_SIZE)
        .map(|b| b.build())
        .unwrap_or_default();
    let mut editor: Editor<ShellHelper, FileHistory> = match Editor::with_config(config) {
        Ok(editor) => editor,
        Err(e) => {
            eprintln!("Error: cannot start the line editor: {e}");
            return 1;
        }
    };
    editor.set_helper(Some(ShellHelper));
    let history = history_path();
    if let Some(path) = &history {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        // A missing history file is normal on first use.
        let _ = editor.load_history(path);
    }
    eprintln!("{banner}");
    let mut entry = String::new();
    loop {
        interrupt::clear();
        let prompt = if entry.is_empty() {
            PROMPT
        } else {
            CONTINUATION
        };
        match editor.readline(prompt) {
            Ok(line) => {
                if !entry.is_empty() {
                    entry.push('\n');
                }
                entry.push_str(&line);
                // Without a terminal the editor reads plain lines: gather them here.
                if !is_entry_complete(&entry) {
                    continue;
                }
                let text = std::mem::take(&mut entry);
                if text.trim().is_empty() {
                    continue;
                }
                let _ = editor.add_history_entry(text.as_str());
                if let Some(path) = &history
                    && let Err(e) = editor.save_history(path)
                {
                    eprintln!(
                        "warning: cannot save the history to {}: {e}",
                        path.display()
                    );
                }
                if let Flow::Exit(code) = shell.run_text(&text, Source::Direct) {
                    return code;
                }
            }
            Err(ReadlineError::Interrupted) => entry.clear(),
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("Error: {e}");
                return 1;
            }
        }
    }
    0
}
