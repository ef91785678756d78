//! Exit codes, one meaning each.

use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Done, or nothing to do.
    Success,
    /// `plan`: changes are pending; `apply`/`destroy`: some targets failed; `doctor`: something
    /// is missing.
    Attention,
    /// Bad configuration or input, or an error that stopped the command.
    Error,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => Self::from(0),
            ExitStatus::Attention => Self::from(1),
            ExitStatus::Error => Self::from(2),
        }
    }
}
