//! A progress bar on stderr while a run is going, drawn only on a terminal.
//!
//! A thin wrapper over indicatif so the runner depends on three calls, not on indicatif.
//! indicatif's `ProgressDrawTarget::stderr()` already turns itself into a hidden target when
//! stderr is not a terminal (or `TERM=dumb`), so CI logs and redirected output stay free of
//! bar frames; the explicit `IsTerminal` check only makes that intent visible and testable.
//! It must not print anything else: the report is rendered after `finish_and_clear`.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::borrow::Cow;
use std::io::IsTerminal;

/// Progress of a run, counted in cases. Cloning shares the same bar (for concurrent tasks).
#[derive(Debug, Clone)]
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar for `total` cases (a spinner with a counter when `total` is 0, i.e. unknown),
    /// drawn on stderr only when stderr is a terminal.
    pub fn new(total: u64) -> Progress {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = if total == 0 {
            let b = ProgressBar::with_draw_target(None, target);
            b.set_style(
                ProgressStyle::with_template("{spinner} {pos} cases {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b
        } else {
            let b = ProgressBar::with_draw_target(Some(total), target);
            b.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} cases {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b
        };
        Progress { bar }
    }

    /// A bar that never draws (tests, `--quiet`).
    pub fn hidden() -> Progress {
        Progress {
            bar: ProgressBar::hidden(),
        }
    }

    /// Whether nothing will be drawn.
    pub fn is_hidden(&self) -> bool {
        self.bar.is_hidden()
    }

    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    /// Cases counted so far.
    pub fn position(&self) -> u64 {
        self.bar.position()
    }

    /// A short note after the counter, such as the rule class being run.
    pub fn set_message(&self, msg: impl Into<Cow<'static, str>>) {
        self.bar.set_message(msg);
    }

    /// Removes the bar from the terminal, so the report starts on a clean line.
    pub fn finish_and_clear(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_without_drawing_when_hidden() {
        let p = Progress::hidden();
        assert!(p.is_hidden());
        p.set_message("input-validation");
        p.inc(3);
        p.clone().inc(2);
        assert_eq!(p.position(), 5);
        p.finish_and_clear();
        // Under `cargo test` stderr is usually not a terminal; then `new` must not draw either.
        if !std::io::stderr().is_terminal() {
            assert!(Progress::new(10).is_hidden());
            assert!(Progress::new(0).is_hidden());
        }
    }
}
