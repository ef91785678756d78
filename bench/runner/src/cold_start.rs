//! Cold start and memory of a release rule binary, run as Lambda runs it: a minimal Lambda
//! Runtime API on 127.0.0.1, the function's environment, and a recording AWS endpoint (also
//! the instance-metadata endpoint) that notes when it is first contacted.
//!
//! - Init: exec -> the first `GET /2018-06-01/runtime/invocation/next`, over many starts.
//! - Memory: one process serving corpus events through the Runtime API; its peak RSS (VmHWM).
//! - No network in init: the AWS endpoint is never contacted before the first poll.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail, ensure};
use serde::Serialize;
use tiny_http::{Header, Method, Response, Server};

const NEXT: &str = "/2018-06-01/runtime/invocation/next";
const WAIT: Duration = Duration::from_secs(10);

/// What the cold-start bench found.
#[derive(Debug, Serialize)]
pub struct ColdStart {
    pub binary: String,
    pub binary_bytes: u64,
    pub starts: usize,
    /// Exec to first poll, sorted, in milliseconds.
    pub init_ms: Vec<f64>,
    pub init_median_ms: f64,
    pub init_p90_ms: f64,
    /// Requests the AWS endpoint received while the starts were measured (killed after the
    /// first poll): must be 0.
    pub aws_contacts_during_init: usize,
    pub evaluations: usize,
    pub evaluation_errors: usize,
    pub peak_rss_kb: u64,
    /// PutEvaluations calls the serving run made, and the evaluations they carried.
    pub put_evaluations_calls: usize,
    pub put_evaluations_items: usize,
    /// Every request the AWS endpoint received during the serving run, by operation.
    pub aws_operations: BTreeMap<String, usize>,
    /// Milliseconds from the serving run's first poll to the AWS endpoint's first request.
    pub first_aws_contact_after_first_poll_ms: f64,
    pub serve_seconds: f64,
}

/// The recording AWS endpoint: answers `PutEvaluations` (and the remediation-status read that
/// follows a COMPLIANT result) as Config does; counts everything.
struct AwsStub {
    port: u16,
    first_contact: Arc<Mutex<Option<Instant>>>,
    requests: Arc<AtomicUsize>,
    puts: Arc<AtomicUsize>,
    items: Arc<AtomicUsize>,
    operations: Arc<Mutex<BTreeMap<String, usize>>>,
}

impl AwsStub {
    fn start() -> Result<Self> {
        let server = Server::http("127.0.0.1:0").map_err(|e| anyhow::anyhow!("{e}"))?;
        let port = server
            .server_addr()
            .to_ip()
            .context("an IP listener")?
            .port();
        let stub = Self {
            port,
            first_contact: Arc::default(),
            requests: Arc::default(),
            puts: Arc::default(),
            items: Arc::default(),
            operations: Arc::default(),
        };
        let (first, requests, puts, items, operations) = (
            stub.first_contact.clone(),
            stub.requests.clone(),
            stub.puts.clone(),
            stub.items.clone(),
            stub.operations.clone(),
        );
        thread::spawn(move || {
            for mut request in server.incoming_requests() {
                first.lock().expect("lock").get_or_insert_with(Instant::now);
                requests.fetch_add(1, Ordering::SeqCst);
                let target = request
                    .headers()
                    .iter()
                    .find(|h| h.field.equiv("x-amz-target"))
                    .map(|h| h.value.as_str().to_owned())
                    .unwrap_or_default();
                let operation = if target.is_empty() {
                    format!("{} {}", request.method(), request.url())
                } else {
                    target.clone()
                };
                *operations
                    .lock()
                    .expect("lock")
                    .entry(operation)
                    .or_default() += 1;
                let mut body = String::new();
                let _ = request.as_reader().read_to_string(&mut body);
                let response = if target.ends_with(".PutEvaluations") {
                    puts.fetch_add(1, Ordering::SeqCst);
                    let sent = serde_json::from_str::<serde_json::Value>(&body)
                        .ok()
                        .and_then(|v| v["Evaluations"].as_array().map(Vec::len))
                        .unwrap_or(0);
                    items.fetch_add(sent, Ordering::SeqCst);
                    Response::from_string(r#"{"FailedEvaluations":[]}"#)
                        .with_header(header("Content-Type", "application/x-amz-json-1.1"))
                } else if target.ends_with(".DescribeRemediationExecutionStatus") {
                    // Config's answer for a resource no remediation has run on.
                    Response::from_string(r#"{"RemediationExecutionStatuses":[]}"#)
                        .with_header(header("Content-Type", "application/x-amz-json-1.1"))
                } else {
                    Response::from_string(r#"{"__type":"UnknownOperationException"}"#)
                        .with_status_code(400)
                        .with_header(header("Content-Type", "application/x-amz-json-1.1"))
                };
                let _ = request.respond(response.with_header(header("x-amzn-RequestId", "bench")));
            }
        });
        Ok(stub)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("a valid header")
}

/// The function's process, with the environment Lambda gives a `provided.al2023` function.
fn spawn(binary: &Path, runtime_port: u16, aws_url: &str) -> Result<Child> {
    Command::new(binary)
        .env_clear()
        .env(
            "AWS_LAMBDA_RUNTIME_API",
            format!("127.0.0.1:{runtime_port}"),
        )
        .env("AWS_LAMBDA_FUNCTION_NAME", "s3-bucket-encryption")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            "/aws/lambda/s3-bucket-encryption",
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/12/01/[$LATEST]bench")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "ASIABENCHBENCHBENCH0")
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "bench/bench/bench/bench/bench/bench/bench0",
        )
        .env("AWS_SESSION_TOKEN", "bench-session-token")
        // Every AWS call, and any instance-metadata lookup, reaches the recording stub.
        .env("AWS_ENDPOINT_URL", aws_url)
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", aws_url)
        .env("TZ", ":UTC")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn runtime_api() -> Result<(Server, u16)> {
    let server = Server::http("127.0.0.1:0").map_err(|e| anyhow::anyhow!("{e}"))?;
    let port = server
        .server_addr()
        .to_ip()
        .context("an IP listener")?
        .port();
    Ok((server, port))
}

/// Exec -> first poll, `starts` times; each process is stopped right after its first poll.
fn init_times(binary: &Path, starts: usize, stub: &AwsStub) -> Result<Vec<f64>> {
    let (server, port) = runtime_api()?;
    let mut times = Vec::with_capacity(starts);
    for _ in 0..starts {
        let started = Instant::now();
        let child = spawn(binary, port, &stub.url())?;
        let Some(request) = server.recv_timeout(WAIT)? else {
            stop(child);
            bail!(
                "{} did not poll the Runtime API within {WAIT:?}",
                binary.display()
            );
        };
        let polled = Instant::now();
        if *request.method() != Method::Get || request.url() != NEXT {
            let url = request.url().to_owned();
            stop(child);
            bail!("unexpected Runtime API request before the first poll: {url}");
        }
        times.push((polled - started).as_secs_f64() * 1000.0);
        stop(child);
    }
    times.sort_by(f64::total_cmp);
    Ok(times)
}

/// What one process serving `events` through the Runtime API cost.
struct Served {
    responses: usize,
    errors: usize,
    peak_rss_kb: u64,
    first_poll: Instant,
    seconds: f64,
}

fn serve(binary: &Path, events: &[String], count: usize, stub: &AwsStub) -> Result<Served> {
    let (server, port) = runtime_api()?;
    let started = Instant::now();
    let child = spawn(binary, port, &stub.url())?;
    let pid = child.id();
    let (mut handed, mut responses, mut errors) = (0, 0, 0);
    let mut first_poll = None;
    let result = loop {
        let Some(request) = server.recv_timeout(WAIT)? else {
            break Err(anyhow::anyhow!(
                "the function stopped talking to the Runtime API"
            ));
        };
        let url = request.url().to_owned();
        if *request.method() == Method::Get && url == NEXT {
            first_poll.get_or_insert_with(Instant::now);
            if handed == count {
                // Every event answered: the process is idle, waiting for the next one.
                break peak_rss_kb(pid);
            }
            #[expect(
                clippy::disallowed_methods,
                reason = "the Runtime API gives the function a wall-clock deadline"
            )]
            let now = SystemTime::now();
            let deadline = now
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis()
                + 30_000;
            let event = &events[handed % events.len()];
            let response = Response::from_string(event.as_str())
                .with_header(header("Content-Type", "application/json"))
                .with_header(header(
                    "Lambda-Runtime-Aws-Request-Id",
                    &format!("req-{handed}"),
                ))
                .with_header(header("Lambda-Runtime-Deadline-Ms", &deadline.to_string()))
                .with_header(header(
                    "Lambda-Runtime-Invoked-Function-Arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:s3-bucket-encryption",
                ))
                .with_header(header(
                    "Lambda-Runtime-Trace-Id",
                    "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0",
                ));
            handed += 1;
            request.respond(response)?;
        } else if url.ends_with("/response") {
            responses += 1;
            request.respond(Response::empty(202))?;
        } else if url.ends_with("/error") {
            errors += 1;
            request.respond(Response::empty(202))?;
        } else {
            break Err(anyhow::anyhow!("unexpected Runtime API request: {url}"));
        }
    };
    stop(child);
    Ok(Served {
        responses,
        errors,
        peak_rss_kb: result?,
        first_poll: first_poll.context("no poll")?,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// `VmHWM` of a running process, in kB.
fn peak_rss_kb(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("VmHWM in /proc/PID/status")
}

/// The nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "a rank within a short list"
    )]
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

pub fn run(
    binary: &Path,
    events: &[String],
    starts: usize,
    evaluations: usize,
) -> Result<ColdStart> {
    ensure!(!events.is_empty(), "no events to serve");
    let binary_bytes = std::fs::metadata(binary)
        .with_context(|| {
            format!(
                "{} (build it with `cargo build --release -p s3-bucket-encryption`)",
                binary.display()
            )
        })?
        .len();
    let init_stub = AwsStub::start()?;
    let init_ms = init_times(binary, starts, &init_stub)?;
    let aws_contacts_during_init = init_stub.requests.load(Ordering::SeqCst);

    let stub = AwsStub::start()?;
    let served = serve(binary, events, evaluations, &stub)?;
    let first_contact = stub
        .first_contact
        .lock()
        .expect("lock")
        .context("the serving run never called AWS")?;
    let first_aws_contact_after_first_poll_ms = if first_contact >= served.first_poll {
        (first_contact - served.first_poll).as_secs_f64() * 1000.0
    } else {
        -((served.first_poll - first_contact).as_secs_f64() * 1000.0)
    };
    Ok(ColdStart {
        binary: binary.display().to_string(),
        binary_bytes,
        starts,
        init_median_ms: percentile(&init_ms, 50.0),
        init_p90_ms: percentile(&init_ms, 90.0),
        init_ms,
        aws_contacts_during_init,
        evaluations: served.responses,
        evaluation_errors: served.errors,
        peak_rss_kb: served.peak_rss_kb,
        put_evaluations_calls: stub.puts.load(Ordering::SeqCst),
        put_evaluations_items: stub.items.load(Ordering::SeqCst),
        aws_operations: stub.operations.lock().expect("lock").clone(),
        first_aws_contact_after_first_poll_ms,
        serve_seconds: served.seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert!((percentile(&v, 50.0) - 50.0).abs() < f64::EPSILON);
        assert!((percentile(&v, 90.0) - 90.0).abs() < f64::EPSILON);
        assert!((percentile(&[3.0], 90.0) - 3.0).abs() < f64::EPSILON);
    }
}
