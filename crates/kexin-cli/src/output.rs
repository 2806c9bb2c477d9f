//! Small formatting helpers shared by the commands, and the checked print path.
//!
//! `println!` and `eprintln!` are redefined here for the whole crate (`main.rs` declares this
//! module first, with `#[macro_use]`): std's panic when the stream is closed, so
//! `kexin cert list | head -2` ended with a panic and exit status 101. These end the process
//! quietly instead (see [`write_stdout`]).

use std::io::IsTerminal as _;
use std::io::Write as _;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

/// The exit status when stdout is closed under us: 141, what a shell reports for a process
/// that a `SIGPIPE` ended (128 + 13), as `cat` or `grep` do in `... | head -1`.
pub const EXIT_STDOUT_CLOSED: i32 = 141;

/// `println!` for this crate: like std's, but a closed stdout is not a panic.
macro_rules! println {
    () => {
        $crate::output::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprintln!` for this crate: like std's, but a closed stderr is not a panic.
macro_rules! eprintln {
    () => {
        $crate::output::write_stderr(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::write_stderr(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Writes to stdout. When the reader has gone (`EPIPE`: the other end of a pipe closed, as
/// `head` does after its lines), the process exits at once with [`EXIT_STDOUT_CLOSED`] and
/// prints nothing, as a Unix tool killed by `SIGPIPE` would; any other write error is reported
/// as `error: io: ...` and the process exits 1. Either way the command stops: nobody reads
/// what it would print next.
pub fn write_stdout(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(EXIT_STDOUT_CLOSED);
        }
        write_stderr(format_args!("error: io: cannot write to stdout: {e}\n"));
        std::process::exit(1);
    }
}

/// Writes to stderr, ignoring errors: a closed or full stderr leaves nowhere to report them,
/// and is no reason to stop the command.
pub fn write_stderr(args: std::fmt::Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(args);
}

/// Formats milliseconds since the Unix epoch as RFC 3339 UTC, e.g. `2026-11-01T08:30:00.123Z`.
pub fn utc(ms: u64) -> String {
    kexin_types::time::rfc3339_ms(ms)
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// A byte-counting progress bar on stderr, hidden when stderr is not a terminal.
pub fn bytes_progress(total: u64, what: &str) -> ProgressBar {
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden())
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:32}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

/// A counting progress bar on stderr, hidden when stderr is not a terminal.
pub fn count_progress(total: u64, what: &str) -> ProgressBar {
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden())
    };
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:32}] {pos}/{len} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

/// Writes a JSON document (and a final newline) to `path` atomically: to a temporary file
/// beside it, then renamed over it, so a reader never sees half a receipt.
pub fn write_json_file(path: &std::path::Path, json: &str) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, format!("{json}\n"))
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
