//! A fault-injecting HTTP proxy on loopback, in front of the emulator (which injects no faults
//! of its own). Seeded: a share of requests is answered with a throttling error in the protocol
//! the service speaks, a share with a 5xx, and a share has its connection closed without an
//! answer; everything else is forwarded. Every attempt is logged, so tests can count attempts
//! against the calls that got a real answer.
//!
//! ```no_run
//! # fn example() -> anyhow::Result<()> {
//! use workspace_tests::faults::{FaultProxy, Faults};
//! let proxy = FaultProxy::start("http://127.0.0.1:4566", 7, Faults::STANDARD)?;
//! // point AWS_ENDPOINT_URL (or an SdkConfig's endpoint) at proxy.url(), run, then:
//! let stats = proxy.stats();
//! println!("{} attempts for {} answered calls", stats.attempts(), stats.answered());
//! # Ok(()) }
//! ```
//!
//! Throttling answers follow what the AWS SDK's retry classifiers look for
//! (`aws-runtime` `retries::classifiers::THROTTLING_ERRORS` by error code; the code is read
//! from `__type` in awsJson, `<Error><Code>` in awsQuery and S3):
//! - awsJson (Config, Organizations; requests carry `X-Amz-Target`): HTTP 400,
//!   `{"__type":"ThrottlingException"}`;
//! - awsQuery (CloudFormation, STS; form bodies with `Action=`): HTTP 400,
//!   `<ErrorResponse><Error><Code>Throttling</Code>…`;
//! - ec2Query (EC2: form bodies too, its own error shape): HTTP 503,
//!   `<Response><Errors><Error><Code>RequestLimitExceeded</Code>…`;
//! - S3 (restXml): HTTP 503 `<Error><Code>SlowDown</Code>…`.
//!
//! 5xx answers are HTTP 500 `InternalFailure` (classified transient by status). Dropped
//! connections are closed before the request is forwarded, so the emulator never sees them.
//! Lost answers are the other case: the request is forwarded and carried out, then the
//! connection is closed without its answer, so the client cannot tell whether it happened (the
//! case idempotency tokens and operation ids exist for). Faults can be kept to some operations
//! ([`FaultProxy::only`]), so a test can lose the answers of StackSets writes alone.
//!
//! Why not hyper's server: enabling hyper's `server` feature would rebuild every AWS SDK crate
//! of the workspace. The request head is parsed with httparse (hyper's own parser), requests
//! carry `Content-Length` (the AWS SDK always sends it), and forwarding goes through
//! hyper-util's client.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Shares of requests that get each fault (the rest is forwarded).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Faults {
    pub throttle: f64,
    pub server_error: f64,
    pub drop: f64,
    /// Forwarded and carried out, then the connection is closed without the answer.
    pub lose_answer: f64,
}

impl Faults {
    /// Everything forwarded: the proxy only counts.
    pub const NONE: Self = Self {
        throttle: 0.0,
        server_error: 0.0,
        drop: 0.0,
        lose_answer: 0.0,
    };
    /// 20% throttled, 5% 5xx, 1% dropped connections.
    pub const STANDARD: Self = Self {
        throttle: 0.20,
        server_error: 0.05,
        drop: 0.01,
        lose_answer: 0.0,
    };

    /// `share` of the answers lost after the request was carried out; no other fault.
    pub fn lost_answers(share: f64) -> Self {
        Self {
            lose_answer: share,
            ..Self::NONE
        }
    }

    /// The share of attempts that fail.
    pub fn total(&self) -> f64 {
        self.throttle + self.server_error + self.drop + self.lose_answer
    }
}

/// What happened to one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Forwarded; the emulator answered with this status.
    Answered(u16),
    /// Forwarded, but the emulator could not be reached.
    Unreachable,
    Throttled,
    ServerError,
    Dropped,
    /// Forwarded, the emulator answered with this status, and the answer was not passed on.
    AnswerLost(u16),
}

/// One attempt as the proxy saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// The signing name from the request's credential scope (`cloudformation`, `s3`, `sts`…).
    pub service: String,
    /// The operation (`CreateStackSet`, `PutEvaluations`) or, for S3, the HTTP method.
    pub operation: String,
    /// What the call is about: the `StackSetName` of a query call, the path of an S3 call.
    pub subject: Option<String>,
    pub outcome: Outcome,
    /// Who signed the request: the access key id of its credential scope.
    pub access_key: String,
    /// The region of its credential scope.
    pub region: String,
    /// The request's own fields: a query call's form fields, an awsJson call's top-level string
    /// members, an S3 call's query parameters.
    pub fields: BTreeMap<String, String>,
    /// The access key id an answered `AssumeRole` issued.
    pub issued_key: Option<String>,
}

impl Exchange {
    /// Forwarded and answered with a 2xx: the emulator carried it out (whether or not the
    /// answer reached the client).
    pub fn succeeded(&self) -> bool {
        matches!(self.outcome, Outcome::Answered(s) | Outcome::AnswerLost(s) if (200..300).contains(&s))
    }

    /// The emulator gave an answer (success or a genuine service error).
    pub fn answered(&self) -> bool {
        matches!(self.outcome, Outcome::Answered(_))
    }

    pub fn injected(&self) -> bool {
        matches!(
            self.outcome,
            Outcome::Throttled | Outcome::ServerError | Outcome::Dropped | Outcome::AnswerLost(_)
        )
    }

    /// `service:operation`.
    pub fn name(&self) -> String {
        format!("{}:{}", self.service, self.operation)
    }
}

/// Every attempt so far, in arrival order.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub log: Vec<Exchange>,
}

impl Stats {
    pub fn attempts(&self) -> usize {
        self.log.len()
    }

    /// Attempts the emulator answered: the requests a run without faults would have made, each
    /// once (a call whose every attempt failed is not among them).
    pub fn answered(&self) -> usize {
        self.log.iter().filter(|e| e.answered()).count()
    }

    pub fn count(&self, outcome: Outcome) -> usize {
        self.log.iter().filter(|e| e.outcome == outcome).count()
    }

    /// Attempts per answered request.
    #[expect(clippy::cast_precision_loss, reason = "counts are far below 2^52")]
    pub fn ratio(&self) -> f64 {
        self.attempts() as f64 / self.answered().max(1) as f64
    }

    /// Attempts by `service:operation`.
    pub fn attempts_by_operation(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for e in &self.log {
            *out.entry(e.name()).or_default() += 1;
        }
        out
    }

    /// One line: attempts, answered, ratio and each injected fault.
    pub fn summary(&self) -> String {
        let lost = self
            .log
            .iter()
            .filter(|e| matches!(e.outcome, Outcome::AnswerLost(_)))
            .count();
        format!(
            "{} attempts, {} answered, ratio {:.3}; injected: {} throttled, {} 5xx, {} dropped, \
             {lost} answers lost",
            self.attempts(),
            self.answered(),
            self.ratio(),
            self.count(Outcome::Throttled),
            self.count(Outcome::ServerError),
            self.count(Outcome::Dropped),
        )
    }
}

/// SplitMix64: a small, well-known seeded generator; the sequence of decisions is the seed's.
#[derive(Debug)]
struct Dice(u64);

impl Dice {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        #[expect(
            clippy::cast_precision_loss,
            reason = "53 random bits make a uniform f64 in [0, 1)"
        )]
        let unit = (z >> 11) as f64 / (1u64 << 53) as f64;
        unit
    }
}

/// What the proxy's connections share with the handle.
#[derive(Debug)]
struct Shared {
    faults: Mutex<Faults>,
    /// Operations faults are kept to; none: every operation.
    only: Mutex<Option<Vec<String>>>,
    dice: Mutex<Dice>,
    stats: Mutex<Stats>,
}

/// The upstream side, made on the proxy's own runtime.
#[derive(Debug)]
struct Upstream {
    url: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// The running proxy; stopped when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    url: String,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`http://host:port`) on a free loopback port, on a thread
    /// and runtime of its own (so it keeps answering while a test blocks on a child process,
    /// and can be started from synchronous and asynchronous code alike).
    pub fn start(upstream: &str, seed: u64, faults: Faults) -> Result<Self> {
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").context("binding the proxy to loopback")?;
        listener.set_nonblocking(true)?;
        let url = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Shared {
            faults: Mutex::new(faults),
            only: Mutex::new(None),
            dice: Mutex::new(Dice(seed)),
            stats: Mutex::new(Stats::default()),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("starting the proxy's runtime")?;
        let upstream = upstream.trim_end_matches('/').to_owned();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = shared.clone();
        let thread = std::thread::Builder::new()
            .name("fault-proxy".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = TcpListener::from_std(listener) else {
                        return;
                    };
                    let upstream = Arc::new(Upstream {
                        url: upstream,
                        client: Client::builder(TokioExecutor::new())
                            .pool_idle_timeout(Duration::from_secs(30))
                            .build_http(),
                    });
                    tokio::select! {
                        () = accept(listener, serving, upstream) => {}
                        _ = stopped => {}
                    }
                });
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .context("starting the proxy's thread")?;
        Ok(Self {
            url,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Where clients should send requests.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A copy of the log so far.
    pub fn stats(&self) -> Stats {
        self.shared
            .stats
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    /// Forgets the log (faults and the seed's sequence go on).
    pub fn reset_stats(&self) {
        if let Ok(mut s) = self.shared.stats.lock() {
            s.log.clear();
        }
    }

    /// Changes the shares of faults from the next request on.
    pub fn set_faults(&self, faults: Faults) {
        if let Ok(mut f) = self.shared.faults.lock() {
            *f = faults;
        }
    }

    /// Keeps faults to `operations` (`CreateStackInstances`…): every other request is forwarded.
    pub fn only(&self, operations: &[&str]) {
        if let Ok(mut only) = self.shared.only.lock() {
            *only = Some(operations.iter().map(ToString::to_string).collect());
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>, upstream: Arc<Upstream>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = shared.clone();
        let upstream = upstream.clone();
        tokio::spawn(async move {
            if let Err(e) = serve_connection(stream, &shared, &upstream).await {
                tracing::debug!(error = %e, "fault proxy connection ended");
            }
        });
    }
}

/// A request as read from the client.
#[derive(Debug)]
struct Request {
    method: String,
    path: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Bytes,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    }
}

/// The protocol a request speaks, which decides the shape of an injected error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    AwsJson,
    AwsQuery,
    Ec2Query,
    RestXml,
}

const MAX_HEAD: usize = 64 * 1024;

/// Serves the requests of one kept-alive connection, one after another.
async fn serve_connection(
    mut stream: TcpStream,
    shared: &Shared,
    upstream: &Upstream,
) -> Result<()> {
    let mut buffer: Vec<u8> = Vec::with_capacity(8 * 1024);
    loop {
        let Some(request) = read_request(&mut stream, &mut buffer).await? else {
            return Ok(());
        };
        let (protocol, exchange) = classify(&request);
        let targeted = shared.only.lock().map_or(true, |only| {
            only.as_ref()
                .is_none_or(|ops| ops.contains(&exchange.operation))
        });
        let roll = if targeted {
            shared.dice.lock().map_or(1.0, |mut d| d.next_f64())
        } else {
            1.0
        };
        let faults = shared.faults.lock().map_or(Faults::NONE, |f| *f);
        let record_issued = |outcome: Outcome, issued_key: Option<String>| {
            if let Ok(mut s) = shared.stats.lock() {
                s.log.push(Exchange {
                    outcome,
                    issued_key,
                    ..exchange.clone()
                });
            }
        };
        let record = |outcome: Outcome| record_issued(outcome, None);
        let closing = request
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        if roll < faults.drop {
            record(Outcome::Dropped);
            // Closed without an answer.
            return Ok(());
        }
        let lost_from = faults.drop + faults.server_error + faults.throttle;
        if (lost_from..lost_from + faults.lose_answer).contains(&roll) {
            // Carried out, then the answer is lost with the connection.
            match forward(upstream, &request).await {
                Ok((status, _, _)) => record(Outcome::AnswerLost(status)),
                Err(_) => record(Outcome::Unreachable),
            }
            return Ok(());
        }
        let (status, headers, body) = if roll < faults.drop + faults.server_error {
            record(Outcome::ServerError);
            injected(protocol, 500, "InternalFailure", "injected server error")
        } else if roll < lost_from {
            record(Outcome::Throttled);
            let (status, code) = match protocol {
                Protocol::AwsJson => (400, "ThrottlingException"),
                Protocol::AwsQuery => (400, "Throttling"),
                Protocol::Ec2Query => (503, "RequestLimitExceeded"),
                Protocol::RestXml => (503, "SlowDown"),
            };
            injected(protocol, status, code, "Rate exceeded")
        } else {
            match forward(upstream, &request).await {
                Ok((status, headers, body)) => {
                    let issued = (exchange.operation == "AssumeRole")
                        .then(|| xml_element(&body, "AccessKeyId"))
                        .flatten();
                    record_issued(Outcome::Answered(status), issued);
                    (status, headers, body)
                }
                Err(e) => {
                    record(Outcome::Unreachable);
                    let message = format!("the proxy could not reach the emulator: {e:#}");
                    let (_, headers, body) = injected(protocol, 502, "BadGateway", &message);
                    (502, headers, body)
                }
            }
        };
        let head_only = request.method == "HEAD";
        write_response(&mut stream, status, &headers, &body, head_only).await?;
        if closing {
            return Ok(());
        }
    }
}

/// Reads one request (head, then a `Content-Length` body); `None` when the client closed the
/// connection between requests.
async fn read_request(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Result<Option<Request>> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 128];
        let mut parsed = httparse::Request::new(&mut headers);
        if let httparse::Status::Complete(head_len) = parsed.parse(&buffer[..])? {
            let method = parsed.method.unwrap_or("GET").to_owned();
            let path = parsed.path.unwrap_or("/").to_owned();
            let headers: Vec<(String, Vec<u8>)> = parsed
                .headers
                .iter()
                .map(|h| (h.name.to_owned(), h.value.to_vec()))
                .collect();
            let mut request = Request {
                method,
                path,
                headers,
                body: Bytes::new(),
            };
            if request
                .header("transfer-encoding")
                .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
            {
                bail!("chunked request bodies are not supported by the fault proxy");
            }
            let length: usize = request
                .header("content-length")
                .map(str::trim)
                .map(str::parse)
                .transpose()
                .context("a Content-Length that is not a number")?
                .unwrap_or(0);
            if request
                .header("expect")
                .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
            {
                stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
            }
            while buffer.len() < head_len + length {
                buffer.reserve(head_len + length - buffer.len());
                if stream.read_buf(buffer).await? == 0 {
                    bail!("the client closed the connection inside a request body");
                }
            }
            request.body = Bytes::copy_from_slice(&buffer[head_len..head_len + length]);
            buffer.drain(..head_len + length);
            return Ok(Some(request));
        }
        if buffer.len() > MAX_HEAD {
            bail!("a request head longer than {MAX_HEAD} bytes");
        }
        buffer.reserve(16 * 1024);
        if stream.read_buf(buffer).await? == 0 {
            if buffer.is_empty() {
                return Ok(None);
            }
            bail!("the client closed the connection inside a request head");
        }
    }
}

/// The protocol, and the log entry (outcome still to be decided) of a request.
fn classify(request: &Request) -> (Protocol, Exchange) {
    // Credential=AKID/date/region/service/aws4_request
    let scope: Vec<&str> = request
        .header("authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .map(|c| c.split(['/', ',']).take(4).collect())
        .unwrap_or_default();
    let part = |i: usize, default: &str| scope.get(i).copied().unwrap_or(default).to_owned();
    let service = part(3, "unknown");
    let signed = |exchange: Exchange| Exchange {
        access_key: part(0, ""),
        region: part(2, ""),
        ..exchange
    };
    let is_form = request
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    if let Some(target) = request.header("x-amz-target") {
        let operation = target.rsplit('.').next().unwrap_or(target).to_owned();
        let fields = serde_json::from_slice::<serde_json::Value>(&request.body)
            .ok()
            .and_then(|v| v.as_object().cloned())
            .map(|members| {
                members
                    .into_iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        let exchange = Exchange {
            service,
            operation,
            subject: None,
            outcome: Outcome::Dropped,
            access_key: String::new(),
            region: String::new(),
            fields,
            issued_key: None,
        };
        (Protocol::AwsJson, signed(exchange))
    } else if is_form {
        let form = form_fields(&request.body);
        let protocol = if service == "ec2" {
            Protocol::Ec2Query
        } else {
            Protocol::AwsQuery
        };
        let exchange = Exchange {
            service,
            operation: form.get("Action").cloned().unwrap_or_default(),
            subject: form.get("StackSetName").cloned(),
            outcome: Outcome::Dropped,
            access_key: String::new(),
            region: String::new(),
            fields: form,
            issued_key: None,
        };
        (protocol, signed(exchange))
    } else {
        let (path, query) = request
            .path
            .split_once('?')
            .unwrap_or((request.path.as_str(), ""));
        let exchange = Exchange {
            service,
            operation: request.method.clone(),
            subject: Some(path.to_owned()),
            outcome: Outcome::Dropped,
            access_key: String::new(),
            region: String::new(),
            fields: query_fields(query),
            issued_key: None,
        };
        (Protocol::RestXml, signed(exchange))
    }
}

/// The text of the first `<name>` element of an XML answer.
fn xml_element(body: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find(&format!("<{name}>"))? + name.len() + 2;
    let end = start + text[start..].find(&format!("</{name}>"))?;
    Some(text[start..end].trim().to_owned())
}

/// A URL's query parameters; a bare name (S3's `?versions`, `?delete`) has an empty value.
fn query_fields(query: &str) -> BTreeMap<String, String> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// The fields of an `application/x-www-form-urlencoded` body.
fn form_fields(body: &[u8]) -> BTreeMap<String, String> {
    let text = String::from_utf8_lossy(body);
    text.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], escaped) {
            (_, Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                i += 1;
            }
            (b, None) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

type Answer = (u16, Vec<(String, Vec<u8>)>, Bytes);

/// An error answer in `protocol`'s shape.
fn injected(protocol: Protocol, status: u16, code: &str, message: &str) -> Answer {
    let request_id = "00000000-0000-4000-8000-fa0170000000";
    let (content_type, body) = match protocol {
        Protocol::AwsJson => (
            "application/x-amz-json-1.1",
            serde_json::json!({ "__type": code, "message": message }).to_string(),
        ),
        Protocol::AwsQuery => (
            "text/xml",
            format!(
                "<ErrorResponse><Error><Type>{}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
                if status >= 500 { "Receiver" } else { "Sender" }
            ),
        ),
        Protocol::Ec2Query => (
            "text/xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
            ),
        ),
        Protocol::RestXml => (
            "application/xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"
            ),
        ),
    };
    let headers = vec![
        ("content-type".to_owned(), content_type.as_bytes().to_vec()),
        (
            "x-amzn-requestid".to_owned(),
            request_id.as_bytes().to_vec(),
        ),
    ];
    (status, headers, Bytes::from(body))
}

/// Headers that belong to one connection, not to the request.
fn hop_by_hop(name: &str) -> bool {
    [
        "connection",
        "keep-alive",
        "transfer-encoding",
        "expect",
        "upgrade",
        "proxy-connection",
        "te",
        "trailer",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h))
}

async fn forward(upstream: &Upstream, request: &Request) -> Result<Answer> {
    let uri = format!("{}{}", upstream.url, request.path);
    let mut builder = hyper::Request::builder()
        .method(request.method.as_str())
        .uri(&uri);
    for (name, value) in &request.headers {
        if !hop_by_hop(name) && !name.eq_ignore_ascii_case("host") {
            builder = builder.header(name.as_str(), value.as_slice());
        }
    }
    let upstream_request = builder
        .body(Full::new(request.body.clone()))
        .with_context(|| format!("rebuilding {} {uri}", request.method))?;
    let response = upstream
        .client
        .request(upstream_request)
        .await
        .with_context(|| format!("{} {uri}", request.method))?;
    let status = response.status().as_u16();
    let headers: Vec<(String, Vec<u8>)> = response
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
        .collect();
    let body = response
        .into_body()
        .collect()
        .await
        .context("reading the emulator's answer")?
        .to_bytes();
    Ok((status, headers, body))
}

async fn write_response(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(String, Vec<u8>)],
    body: &[u8],
    head_only: bool,
) -> Result<()> {
    let reason = hyper::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown");
    let mut out = format!("HTTP/1.1 {status} {reason}\r\n").into_bytes();
    for (name, value) in headers {
        // A HEAD answer keeps the length of what a GET would return.
        let keep_length = head_only && name.eq_ignore_ascii_case("content-length");
        if hop_by_hop(name) || (name.eq_ignore_ascii_case("content-length") && !keep_length) {
            continue;
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    if !head_only {
        out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    if !head_only {
        out.extend_from_slice(body);
    }
    stream.write_all(&out).await?;
    stream.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_decides_the_faults_and_their_shares_hold() {
        let mut a = Dice(7);
        let mut b = Dice(7);
        let first: Vec<f64> = (0..100).map(|_| a.next_f64()).collect();
        let second: Vec<f64> = (0..100).map(|_| b.next_f64()).collect();
        assert_eq!(first, second);
        let mut dice = Dice(42);
        let n = 100_000;
        let failed = (0..n)
            .filter(|_| dice.next_f64() < Faults::STANDARD.total())
            .count();
        let share = f64::from(u32::try_from(failed).unwrap()) / f64::from(n);
        assert!((share - 0.26).abs() < 0.01, "{share}");
    }

    #[test]
    fn query_forms_are_decoded() {
        let fields = form_fields(b"Action=CreateStackSet&StackSetName=custos-rule-a%2Db&X=a+b");
        assert_eq!(fields["Action"], "CreateStackSet");
        assert_eq!(fields["StackSetName"], "custos-rule-a-b");
        assert_eq!(fields["X"], "a b");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%4"), "%4");
    }
}
