//! Progress on stderr: a bar on a terminal, plain lines otherwise (and with `-v`, where log
//! lines would tear a bar).

use std::fmt::Write as _;
use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// A step of the run, on its own line: what is being done now.
pub fn phase(what: &str) {
    eprintln!("{what}");
}

/// Steps done of a known number, each perhaps standing for several units (stack instances).
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    noun: &'static str,
    total: u64,
    done: u64,
    units: Option<(&'static str, u64, u64)>,
}

impl Progress {
    /// `total` steps, each one `noun`.
    pub fn new(noun: &'static str, total: usize, verbose: bool) -> Self {
        let total = total as u64;
        let bar = (std::io::stderr().is_terminal() && !verbose).then(|| {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        Self {
            bar,
            noun,
            total,
            done: 0,
            units: None,
        }
    }

    /// Also counts `total` units (`noun`) over the steps.
    #[must_use]
    pub fn counting(mut self, noun: &'static str, total: usize) -> Self {
        self.units = Some((noun, 0, total as u64));
        self
    }

    pub fn start(&self, what: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(what.to_owned());
        }
    }

    /// One step ended, standing for `units` units.
    pub fn finish_one(&mut self, what: &str, outcome: &str, units: usize) {
        self.done += 1;
        let mut count = format!("{}/{} {}", self.done, self.total, self.noun);
        if let Some((noun, done, total)) = &mut self.units {
            *done += units as u64;
            let _ = write!(count, ", {done}/{total} {noun}");
        }
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                bar.println(format!("{what}: {outcome}"));
            }
            None => eprintln!("[{count}] {what}: {outcome}"),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_and_units_are_counted() {
        let mut progress = Progress::new("changes", 2, true).counting("stack instances", 5);
        progress.finish_one("a", "SUCCEEDED", 4);
        progress.finish_one("b", "SUCCEEDED", 1);
        assert_eq!(progress.done, 2);
        assert_eq!(progress.units, Some(("stack instances", 5, 5)));
    }
}
