//! A rule binary run the way a user runs it locally: `BINARY --event FILE --dry-run`, with no
//! AWS endpoint, credentials, instance metadata or Lambda runtime to reach.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub struct DryRun {
    binary: PathBuf,
}

impl DryRun {
    /// `binary` is `env!("CARGO_BIN_EXE_<name>")`.
    pub fn new(binary: &str) -> Self {
        Self {
            binary: binary.into(),
        }
    }

    /// `BINARY --event EVENT --dry-run`.
    pub fn output(&self, event: &Path) -> Output {
        self.run(&["--event".as_ref(), event.as_os_str(), "--dry-run".as_ref()])
    }

    /// The binary with `args`.
    pub fn run(&self, args: &[&std::ffi::OsStr]) -> Output {
        self.command()
            .args(args)
            .output()
            .expect("the rule binary runs")
    }

    /// The error printed for `event`: exit 1, nothing on stdout, one `error: ` line, no panic.
    pub fn failure(&self, event: &Path) -> String {
        failure(&self.output(event), &event.display().to_string())
    }

    /// `BINARY replay --events FILE --dry-run` on `file`.
    pub fn replay(&self, file: &Path) -> Output {
        self.run(&[
            "replay".as_ref(),
            "--events".as_ref(),
            file.as_os_str(),
            "--dry-run".as_ref(),
        ])
    }

    /// The binary, with nothing of AWS or Lambda to reach.
    fn command(&self) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_LAMBDA_RUNTIME_API")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        command
    }
}

/// The error of a failed run: exit 1, nothing on stdout, one `error: ` line, no panic.
pub fn failure(out: &Output, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{what}: stderr: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "{what}: nothing is printed as a result"
    );
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    assert!(stderr.starts_with("error: "), "{what}: {stderr}");
    stderr
}

/// A directory of event files for one test, removed when dropped.
pub struct EventDir(PathBuf);

impl EventDir {
    /// A fresh directory under the system's temporary directory; `label` keeps parallel tests
    /// apart.
    pub fn new(label: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("custos-events-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("the event directory is made");
        Self(dir)
    }

    /// Writes `event` as `name` and returns its path.
    pub fn write(&self, name: &str, event: &Value) -> PathBuf {
        self.write_text(
            name,
            &serde_json::to_string_pretty(event).expect("an event serialises"),
        )
    }

    /// Writes `text` as `name` and returns its path.
    pub fn write_text(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("the event file is written");
        path
    }
}

impl Drop for EventDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What `serve` does with input it cannot use, whatever the rule: a truncated event, a missing
/// file, no event and an unknown argument are each one clean error, and nothing is evaluated.
pub fn assert_error_paths(rule: &DryRun, dir: &EventDir) {
    let truncated = dir.write_text("truncated.json", r#"{"invokingEvent": "{\"configurationIt"#);
    let stderr = rule.failure(&truncated);
    assert!(stderr.contains("is not JSON"), "{stderr}");

    let stderr = rule.failure(&dir.0.join("no-such-event.json"));
    assert!(stderr.contains("cannot read"), "{stderr}");

    let stderr = usage_error(&rule.run(&[]));
    assert!(stderr.contains("--event <FILE>"), "{stderr}");

    let stderr = usage_error(&rule.run(&["--evnet".as_ref(), truncated.as_os_str()]));
    assert!(stderr.contains("unexpected argument '--evnet'"), "{stderr}");
}

/// A command line the binary does not take: exit 2 and the usage on stderr, nothing run.
fn usage_error(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "a usage error: {stderr}");
    assert!(out.stdout.is_empty(), "{stderr}");
    assert!(stderr.contains("Usage:"), "{stderr}");
    stderr
}
