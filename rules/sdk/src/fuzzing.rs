//! The fuzz runner the workspace's fuzz tests share: proptest at scale (cargo-fuzz needs a
//! nightly toolchain). `PROPTEST_CASES` sets the cases per round; `CUSTOS_FUZZ_SECONDS`
//! repeats rounds, with fresh random seeds, until that many seconds have passed (`make fuzz`).

use std::time::{Duration, Instant};

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Runs `test` on `strategy`'s inputs for one round or, with `CUSTOS_FUZZ_SECONDS`, for that
/// long; panics on the first failing case; returns the number of cases run.
pub fn fuzz<S: Strategy>(
    name: &str,
    strategy: &S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) -> u64 {
    #[expect(
        clippy::disallowed_methods,
        reason = "the fuzz run's length, set by make fuzz"
    )]
    let seconds = std::env::var("CUSTOS_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok());
    let config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    let started = Instant::now();
    let mut cases = 0u64;
    loop {
        let mut runner = TestRunner::new(config.clone());
        if let Err(e) = runner.run(strategy, &test) {
            panic!("{name}: {e}");
        }
        cases += u64::from(config.cases);
        let more = seconds.is_some_and(|s| started.elapsed() < Duration::from_secs(s));
        if !more {
            break;
        }
    }
    println!(
        "fuzz {name}: {cases} cases in {:.1} s, no panic, every error located",
        started.elapsed().as_secs_f64()
    );
    cases
}

/// `text` with bytes deleted, inserted or replaced: each edit is (position, operation, byte),
/// taken modulo the text's length, the three operations and `alphabet` (the bytes that matter
/// to the format under test).
pub fn edit_bytes(text: &str, alphabet: &[u8], edits: &[(usize, u8, u8)]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for (at, op, byte) in edits {
        if bytes.is_empty() {
            break;
        }
        let at = at % bytes.len();
        let b = alphabet[usize::from(*byte) % alphabet.len()];
        match op % 3 {
            0 => {
                bytes.remove(at);
            }
            1 => bytes.insert(at, b),
            _ => bytes[at] = b,
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}
