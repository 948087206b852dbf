//! Servers that misbehave: broken and hostile XML, huge and slow answers, resets, every error status,
//! redirects, bad certificates and hostile names. One test per case, each asserting that Lockwatch does not
//! panic or hang, reports the exact [`ErrorKind`] with words a person can act on, and that a healthy server
//! read in the same run still reports correctly.

use std::path::Path;
use std::time::{Duration, Instant};

use lockwatch::ErrorKind;
use lockwatch::error::ErrorInfo;
use lockwatch::model::{FileState, StatusReport};
use serde_json::Value;
use url::Url;

use crate::support::davops::{self, LockSpec};
use crate::support::hostile::{Case, HostileServer, Listener, Pki};
use crate::support::{ALICE, BOB, DavServer, both, config, file, status, write_config};

/// Time limit configured for the hostile server: the slow cases must end soon after it.
const TIMEOUT_SECS: u64 = 2;
/// Generous bound for one whole `status` run: the point is "does not hang", not speed.
const RUN_BOUND: Duration = Duration::from_secs(30);

/// A `dav-server` with `Healthy.txt` locked by bob: the server that must keep working next to a hostile one.
async fn healthy() -> DavServer {
    let server = DavServer::start();
    let url = format!("{}Healthy.txt", server.base_url());
    assert!(davops::put(&url, ALICE, b"ok").await.is_success());
    davops::lock(
        &url,
        BOB,
        &LockSpec {
            owner_xml: Some("<D:href>mailto:bob@example.com</D:href>".into()),
            ..LockSpec::default()
        },
    )
    .await
    .unwrap();
    server
}

/// Config text for a hostile server (as alice, short time limit) watching `watch`, plus the healthy one.
fn config_text(hostile_url: &str, extra: &str, watch: &str, healthy: &DavServer) -> String {
    format!(
        r#"[[servers]]
name = "hostile"
kind = "webdav"
url = "{hostile_url}"
username = "alice"
password_env = "PW_ALICE"
timeout_secs = {TIMEOUT_SECS}
watch = [{watch}]
{extra}

[[servers]]
name = "healthy"
kind = "webdav"
url = "{}"
watch = ["Healthy.txt"]
"#,
        healthy.base_url()
    )
}

fn assert_healthy(report: &StatusReport) {
    let server = report.servers.iter().find(|s| s.name == "healthy").unwrap();
    assert!(server.ok, "the healthy server failed: {report:#?}");
    let entry = file(report, "Healthy.txt");
    assert_eq!(entry.state, FileState::Locked, "{entry:#?}");
    assert!(
        entry.locks[0]
            .owner
            .as_deref()
            .unwrap_or("")
            .contains("bob"),
        "{entry:#?}"
    );
}

/// The hostile server's error: the server-wide one, else the watched file's.
fn hostile_error(report: &StatusReport) -> ErrorInfo {
    let server = report.servers.iter().find(|s| s.name == "hostile").unwrap();
    if let Some(err) = &server.error {
        return err.clone();
    }
    let entry = report
        .files
        .iter()
        .find(|f| f.server == "hostile")
        .unwrap_or_else(|| panic!("no hostile entry in {report:#?}"));
    assert_eq!(entry.state, FileState::Error, "{entry:#?}");
    entry.error.clone().unwrap()
}

/// Reads the hostile server running `case` next to a healthy one and checks the common promises; returns
/// the hostile server's error (after asserting its kind and words) and the server for further checks.
async fn expect(case: Case, kind: ErrorKind, words: &[&str]) -> (ErrorInfo, HostileServer) {
    let server = HostileServer::start(case);
    let info = expect_from(&server, "", kind, words).await;
    (info, server)
}

async fn expect_from(
    server: &HostileServer,
    extra: &str,
    kind: ErrorKind,
    words: &[&str],
) -> ErrorInfo {
    let healthy = healthy().await;
    let cfg = config(&config_text(
        &server.base_url(),
        extra,
        r#""Budget.xlsx""#,
        &healthy,
    ));
    let started = Instant::now();
    let report = tokio::time::timeout(RUN_BOUND, status(&cfg))
        .await
        .expect("status did not finish: it hangs on a hostile server");
    let elapsed = started.elapsed();
    assert_healthy(&report);
    let info = hostile_error(&report);
    assert_eq!(info.kind, kind, "{info:?}");
    assert!(info.message.starts_with("hostile: "), "{info:?}");
    for word in words {
        assert!(info.message.contains(word), "{word:?} not in {info:?}");
    }
    assert!(
        info.message.chars().count() < 600 && !info.message.contains('\u{1b}'),
        "unreadable message: {info:?}"
    );
    assert!(elapsed < RUN_BOUND, "took {elapsed:?}");
    info
}

#[tokio::test]
async fn malformed_xml_is_a_protocol_error() {
    expect(
        Case::MalformedXml,
        ErrorKind::Protocol,
        &["cannot read", "not well-formed"],
    )
    .await;
}

#[tokio::test]
async fn truncated_xml_is_a_protocol_error() {
    expect(Case::TruncatedXml, ErrorKind::Protocol, &["cannot read"]).await;
}

#[tokio::test]
async fn xml_that_is_not_namespace_well_formed_is_a_protocol_error() {
    expect(
        Case::UndeclaredPrefix,
        ErrorKind::Protocol,
        &["undeclared namespace prefix `Z`"],
    )
    .await;
}

#[tokio::test]
async fn an_html_page_is_named_as_such() {
    expect(Case::HtmlPage, ErrorKind::Protocol, &["an HTML page"]).await;
}

#[tokio::test]
async fn billion_laughs_is_refused_without_expansion() {
    let (info, server) = expect(Case::BillionLaughs, ErrorKind::Protocol, &["DOCTYPE"]).await;
    assert!(!info.message.contains("lollol"), "{info:?}");
    assert_eq!(file_requests(&server), 1);
}

#[tokio::test]
async fn external_entities_are_never_fetched() {
    let listener = Listener::start();
    let (info, _server) = expect(
        Case::Xxe {
            target: format!("{}/xxe", listener.url()),
        },
        ErrorKind::Protocol,
        &["DOCTYPE"],
    )
    .await;
    // A local file as the entity: its content must not show up either.
    let (file_info, _server) = expect(
        Case::Xxe {
            target: "file:///etc/passwd".into(),
        },
        ErrorKind::Protocol,
        &["DOCTYPE"],
    )
    .await;
    assert!(!file_info.message.contains("root:"), "{file_info:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        listener.connections(),
        0,
        "the external entity was fetched ({info:?})"
    );
}

#[tokio::test]
async fn a_response_over_the_limit_is_cut_off_with_bounded_memory() {
    // 100 MB, streamed without Content-Length: the client cannot refuse it from the headers.
    let server = HostileServer::start(Case::Huge { bytes: 100_000_000 });
    let healthy = healthy().await;
    let home = tempfile::tempdir().unwrap();
    let cfg = write_config(
        home.path(),
        &config_text(&server.base_url(), "", r#""Budget.xlsx""#, &healthy).replace(
            &format!("timeout_secs = {TIMEOUT_SECS}"),
            "timeout_secs = 60",
        ),
    );
    let (out, peak_kib) = lockwatch_measured(
        home.path(),
        &["status", "--json", "--config", cfg.to_str().unwrap()],
        &[("PW_ALICE", ALICE.1)],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let hostile = &json["files"][0];
    assert_eq!(hostile["server"], "hostile");
    assert_eq!(hostile["error"]["kind"], "too_large", "{}", both(&out));
    let limit_mib = lockwatch::http::MAX_BODY_BYTES / (1024 * 1024);
    assert!(
        hostile["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("larger than {limit_mib} MiB")),
        "{}",
        both(&out)
    );
    assert_eq!(json["files"][1]["state"], "locked", "{}", both(&out));
    // Holding the whole 100 MB (95 MiB) would need more than this; the limit plus the process itself does not.
    let bound_kib = (lockwatch::http::MAX_BODY_BYTES / 1024) as u64 + 30 * 1024;
    eprintln!("peak RSS {peak_kib} KiB (bound {bound_kib} KiB)");
    assert!(
        peak_kib < bound_kib,
        "peak RSS {peak_kib} KiB exceeds {bound_kib} KiB"
    );
}

/// Servers answering 100 MB at the same moment in [`many_huge_answers_at_once_stay_within_the_budget`]:
/// without the process-wide budget they would hold this many times the per-response limit.
const HUGE_SERVERS: usize = 16;

#[tokio::test]
async fn many_huge_answers_at_once_stay_within_the_budget() {
    let huge: Vec<HostileServer> = (0..HUGE_SERVERS)
        .map(|_| HostileServer::start(Case::Huge { bytes: 100_000_000 }))
        .collect();
    let healthy = healthy().await;
    let mut text = String::new();
    for (i, server) in huge.iter().enumerate() {
        text.push_str(&format!(
            "[[servers]]\nname = \"huge-{i}\"\nkind = \"webdav\"\nurl = \"{}\"\ntimeout_secs = 120\nwatch = [\"Budget.xlsx\"]\n\n",
            server.base_url()
        ));
    }
    text.push_str(&format!(
        "[[servers]]\nname = \"healthy\"\nkind = \"webdav\"\nurl = \"{}\"\nwatch = [\"Healthy.txt\"]\n",
        healthy.base_url()
    ));
    let home = tempfile::tempdir().unwrap();
    let cfg = write_config(home.path(), &text);
    let (out, peak_kib) = lockwatch_measured(
        home.path(),
        &["status", "--json", "--config", cfg.to_str().unwrap()],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let report: StatusReport = serde_json::from_slice(&out.stdout).unwrap();
    assert_healthy(&report);
    let errors: Vec<ErrorInfo> = report
        .files
        .iter()
        .filter(|f| f.server.starts_with("huge-"))
        .map(|f| {
            assert_eq!(f.state, FileState::Error, "{f:#?}");
            f.error.clone().unwrap()
        })
        .collect();
    assert_eq!(errors.len(), HUGE_SERVERS);
    let budget_mib = lockwatch::http::BODY_BUDGET_BYTES / (1024 * 1024);
    for info in &errors {
        assert_eq!(info.kind, ErrorKind::TooLarge, "{info:?}");
    }
    // Sixteen answers growing together pass the budget long before any reaches the per-response limit.
    let over_budget = errors
        .iter()
        .filter(|i| {
            i.message.contains(&format!(
                "reached {budget_mib} MiB, Lockwatch's memory budget"
            ))
        })
        .count();
    // Without the budget the answers would hold up to HUGE_SERVERS × 64 MiB (1 GiB) together; with it,
    // the budget plus the process itself and allocator slack.
    let bound_kib = (lockwatch::http::BODY_BUDGET_BYTES / 1024) as u64 + 128 * 1024;
    eprintln!(
        "peak RSS {peak_kib} KiB (bound {bound_kib} KiB); {over_budget} of {HUGE_SERVERS} answers dropped over the budget"
    );
    assert!(over_budget > 0, "{errors:#?}");
    assert!(
        peak_kib < bound_kib,
        "peak RSS {peak_kib} KiB exceeds {bound_kib} KiB"
    );
}

#[tokio::test]
async fn one_byte_per_second_times_out() {
    let started = Instant::now();
    expect(
        Case::Trickle,
        ErrorKind::Timeout,
        &[&format!("did not answer within {TIMEOUT_SECS} s")],
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(TIMEOUT_SECS + 10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let started = Instant::now();
    let (_, server) = expect(Case::Silent, ErrorKind::Timeout, &["did not answer"]).await;
    assert!(
        started.elapsed() < Duration::from_secs(TIMEOUT_SECS + 10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(file_requests(&server), 1);
}

#[tokio::test]
async fn a_connection_reset_is_a_network_error() {
    expect(
        Case::Reset,
        ErrorKind::Network,
        &["cannot reach", "check that the server is running"],
    )
    .await;
}

#[tokio::test]
async fn a_reset_in_the_middle_of_the_body_is_a_network_error() {
    // A transport failure, not a malformed answer: the server is in error and is read again later.
    let (info, _) = expect(
        Case::ResetMidBody,
        ErrorKind::Network,
        &[
            "connection to 127.0.0.1:",
            "broke in the middle of the answer",
        ],
    )
    .await;
    assert!(
        info.message.contains("reset") || info.message.contains("closed"),
        "{info:?}"
    );
}

#[tokio::test]
async fn unauthorized_with_a_challenge() {
    expect(
        Case::status(401, &[("WWW-Authenticate", "Basic realm=\"dav\"")]),
        ErrorKind::Unauthorized,
        &["rejected the credentials", "\"alice\"", "HTTP 401"],
    )
    .await;
}

#[tokio::test]
async fn unauthorized_without_a_challenge() {
    expect(
        Case::status(401, &[]),
        ErrorKind::Unauthorized,
        &["rejected the credentials", "HTTP 401"],
    )
    .await;
}

#[tokio::test]
async fn unauthorized_without_credentials_asks_for_a_user_name() {
    let server = HostileServer::start(Case::status(
        401,
        &[("WWW-Authenticate", "Basic realm=\"dav\"")],
    ));
    let healthy = healthy().await;
    let text = config_text(&server.base_url(), "", r#""Budget.xlsx""#, &healthy)
        .replace("username = \"alice\"\npassword_env = \"PW_ALICE\"\n", "");
    let report = tokio::time::timeout(RUN_BOUND, status(&config(&text)))
        .await
        .unwrap();
    assert_healthy(&report);
    let info = hostile_error(&report);
    assert_eq!(info.kind, ErrorKind::Unauthorized);
    assert!(info.message.contains("add `username`"), "{info:?}");
    assert_eq!(server.requests()[0].authorization, None);
}

#[tokio::test]
async fn forbidden() {
    expect(
        Case::status(403, &[]),
        ErrorKind::Forbidden,
        &["Budget.xlsx", "forbidden", "HTTP 403"],
    )
    .await;
}

#[tokio::test]
async fn not_found() {
    expect(
        Case::status(404, &[]),
        ErrorKind::NotFound,
        &["Budget.xlsx was not found", "HTTP 404"],
    )
    .await;
}

#[tokio::test]
async fn internal_server_error() {
    let (info, _) = expect(
        Case::status(500, &[]),
        ErrorKind::Server,
        &["HTTP 500", "Something went wrong"],
    )
    .await;
    // The excerpt of the HTML page is text, not markup or script.
    assert!(
        !info.message.contains('<') && !info.message.contains("alert"),
        "{info:?}"
    );
}

#[tokio::test]
async fn service_unavailable() {
    expect(Case::status(503, &[]), ErrorKind::Server, &["HTTP 503"]).await;
}

#[tokio::test]
async fn locked_on_propfind() {
    expect(
        Case::status(423, &[]),
        ErrorKind::Locked,
        &["Budget.xlsx is locked", "HTTP 423"],
    )
    .await;
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_not_followed() {
    let elsewhere = Listener::start();
    let (info, server) = expect(
        Case::Redirect {
            location: format!("{}/steal/Budget.xlsx", elsewhere.url()),
        },
        ErrorKind::Protocol,
        &["redirected to", "does not send your credentials elsewhere"],
    )
    .await;
    assert!(info.message.contains(&elsewhere.url()), "{info:?}");
    // The configured server did get the credentials; the other origin got nothing at all.
    assert!(server.requests()[0].authorization.is_some());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(elsewhere.connections(), 0);
}

#[tokio::test]
async fn a_redirect_to_the_same_host_on_another_port_is_another_origin() {
    let elsewhere = HostileServer::start(Case::status(404, &[]));
    let (_, server) = expect(
        Case::Redirect {
            location: format!(
                "http://127.0.0.1:{}/dav/Budget.xlsx",
                elsewhere.addr().port()
            ),
        },
        ErrorKind::Protocol,
        &["redirected to"],
    )
    .await;
    assert_eq!(file_requests(&server), 1);
    assert_eq!(elsewhere.connections(), 0);
}

#[tokio::test]
async fn a_redirect_loop_ends_with_an_error() {
    let (_, server) = expect(
        Case::RedirectLoop,
        ErrorKind::Protocol,
        &["redirected too many times"],
    )
    .await;
    // The first request and five redirects, for the file (and as many for the server folder, read for
    // depth-infinity locks), then a stop.
    assert_eq!(
        file_requests(&server),
        lockwatch::http::MAX_REDIRECTS + 1,
        "{:?}",
        server.requests()
    );
}

/// Requests for the watched file (Lockwatch also reads the server folder itself, for inherited locks).
fn file_requests(server: &HostileServer) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.target.starts_with("/dav/Budget.xlsx"))
        .count()
}

fn write_ca(dir: &Path, pem: &str) -> String {
    let path = dir.join("ca.pem");
    std::fs::write(&path, pem).unwrap();
    path.to_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_self_signed_certificate_is_refused_with_an_explanation() {
    let pki = Pki::new();
    let server = HostileServer::start_tls(Case::status(404, &[]), &pki.self_signed);
    let info = expect_from(
        &server,
        "",
        ErrorKind::Tls,
        &["secure connection", "not signed by an authority", "ca_file"],
    )
    .await;
    assert!(
        server.requests().is_empty(),
        "a request went through: {info:?}"
    );
}

#[tokio::test]
async fn a_private_ca_is_refused_without_ca_file() {
    let pki = Pki::new();
    let server = HostileServer::start_tls(Case::status(404, &[]), &pki.good);
    expect_from(&server, "", ErrorKind::Tls, &["ca_file"]).await;
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn an_expired_certificate_is_refused_even_from_a_trusted_ca() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let ca = write_ca(dir.path(), &pki.ca_pem);
    let server = HostileServer::start_tls(Case::status(404, &[]), &pki.expired);
    let info = expect_from(
        &server,
        &format!("ca_file = \"{ca}\""),
        ErrorKind::Tls,
        &["certificate has expired", "administrator must renew it"],
    )
    .await;
    // Trusting another CA would not help: the advice does not suggest it.
    assert!(!info.message.contains("ca_file"), "{info:?}");
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn a_certificate_for_another_host_name_is_refused_even_from_a_trusted_ca() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let ca = write_ca(dir.path(), &pki.ca_pem);
    let server = HostileServer::start_tls(Case::status(404, &[]), &pki.other_name);
    let info = expect_from(
        &server,
        &format!("ca_file = \"{ca}\""),
        ErrorKind::Tls,
        &[
            "secure connection",
            "issued for another host name (other.example)",
        ],
    )
    .await;
    // `ca_file` does not help here, and the advice must not suggest it.
    assert!(!info.message.contains("ca_file"), "{info:?}");
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn a_private_ca_is_trusted_through_ca_file() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let ca = write_ca(dir.path(), &pki.ca_pem);
    let listing = crate::support::hostile::VALID_FILE.to_owned();
    let server = HostileServer::start_tls(
        Case::Status {
            code: 207,
            headers: vec![],
            body: listing,
        },
        &pki.good,
    );
    let healthy = healthy().await;
    let cfg = config(&config_text(
        &server.base_url(),
        &format!("ca_file = \"{ca}\""),
        r#""Budget.xlsx""#,
        &healthy,
    ));
    let report = tokio::time::timeout(RUN_BOUND, status(&cfg)).await.unwrap();
    assert_healthy(&report);
    let entry = file(&report, "Budget.xlsx");
    assert_eq!(entry.state, FileState::Unlocked, "{report:#?}");
    assert!(server.requests()[0].authorization.is_some());
}

/// Polls the peak resident set size of a running `lockwatch` (VmHWM, KiB) while it runs.
async fn lockwatch_measured(
    home: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> (std::process::Output, u64) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_lockwatch"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("COLUMNS", "120")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().unwrap();
    let pid = child.id().unwrap();
    let status_path = format!("/proc/{pid}/status");
    let sampler = tokio::spawn(async move {
        let mut peak = 0u64;
        // Bounded: at most 120 s of sampling.
        for _ in 0..12_000 {
            let Ok(text) = std::fs::read_to_string(&status_path) else {
                break;
            };
            if let Some(kib) = text
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
            {
                peak = peak.max(kib);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        peak
    });
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("lockwatch did not finish within 120 s")
        .unwrap();
    let peak = sampler.await.unwrap();
    (out, peak)
}

/// Names a hostile server can send: markup, script, terminal escapes, a right-to-left override, C1 controls
/// and 10 KB of text.
fn hostile_name() -> String {
    format!(
        "<script>alert(1)</script>\u{1b}[2J\u{1b}]0;pwned\u{7}\u{9b}31m evil\u{202E}gpj.exe{}.txt",
        "A".repeat(10_000)
    )
}

fn hostile_owner() -> String {
    format!(
        "<img src=x onerror=alert(1)>\u{1b}[31mMallory\u{202E}\u{2066}\r\nfake line{}",
        "B".repeat(10_000)
    )
}

#[tokio::test]
async fn hostile_names_are_inert_and_truncated_in_the_table_and_exact_in_json() {
    let name = hostile_name();
    let owner = hostile_owner();
    let server = HostileServer::start(Case::Names {
        name: name.clone(),
        owner: owner.clone(),
    });
    let healthy = healthy().await;
    let home = tempfile::tempdir().unwrap();
    let cfg = write_config(
        home.path(),
        &config_text(&server.base_url(), "", r#""Evil/""#, &healthy),
    );
    let cfg = cfg.to_str().unwrap();
    let env = [("PW_ALICE", ALICE.1)];

    let out = crate::support::lockwatch(home.path(), &["status", "--config", cfg], &env).await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let table = String::from_utf8(out.stdout.clone()).unwrap();
    for bad in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202E}', '\u{2066}', '\r'] {
        assert!(
            !table.contains(bad),
            "{bad:?} reached the terminal:\n{table}"
        );
    }
    assert!(
        table.chars().all(|c| c == '\n' || !c.is_control()),
        "{table}"
    );
    assert!(
        table.lines().all(|l| l.chars().count() <= 120),
        "a line is wider than the terminal:\n{table}"
    );
    assert!(table.len() < 8_000, "not truncated: {} bytes", table.len());
    assert!(!table.contains(&"A".repeat(100)) && !table.contains(&"B".repeat(100)));
    assert!(table.contains('…'), "{table}");
    // Shown as text (a terminal has no markup): the start of the name is there, visibly.
    assert!(table.contains("<script>"), "{table}");
    assert!(table.contains("<img src=x"), "{table}");
    assert!(table.contains("Healthy.txt"), "{table}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");

    let out =
        crate::support::lockwatch(home.path(), &["status", "--json", "--config", cfg], &env).await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    // Escaped in the bytes: no raw terminal escape, carriage return or bell reaches stdout.
    for byte in [0x1b_u8, 0x07, b'\r'] {
        assert!(!out.stdout.contains(&byte), "raw {byte:#x} in the JSON");
    }
    let text = String::from_utf8_lossy(&out.stdout);
    for c in ['\u{202E}', '\u{2066}', '\u{9b}'] {
        assert!(
            !text.contains(c),
            "raw {c:?} in the JSON: bidi and C1 controls are written as \\u escapes"
        );
    }
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let evil = json["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["server"] == "hostile")
        .unwrap();
    // Raw in the values: scripts get the real data back.
    // Exact, except that a `/` inside the name stays encoded: the name cannot pose as a folder path.
    assert_eq!(
        evil["path"].as_str().unwrap(),
        format!("Evil/{}", name.replace('/', "%2F"))
    );
    assert_eq!(evil["state"], "locked");
    let lock = &evil["locks"][0];
    // The owner is XML text: its whitespace is collapsed, nothing else changes.
    let collapsed = owner.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(lock["owner"].as_str().unwrap(), collapsed);
    let healthy_entry = json["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["server"] == "healthy")
        .unwrap();
    assert_eq!(healthy_entry["state"], "locked");
}

#[tokio::test]
async fn hostile_names_from_the_parser_keep_their_exact_value() {
    // The same listing through the library: the model keeps the raw, untruncated text.
    let name = hostile_name();
    let server = HostileServer::start(Case::Names {
        name: name.clone(),
        owner: "Mallory".into(),
    });
    let healthy = healthy().await;
    let cfg = config(&config_text(&server.base_url(), "", r#""Evil/""#, &healthy));
    let report = status(&cfg).await;
    assert_healthy(&report);
    let entry = file(&report, &format!("Evil/{}", name.replace('/', "%2F")));
    assert_eq!(entry.state, FileState::Locked);
    assert!(
        Url::parse(&entry.url).is_ok() && !entry.url.contains('\u{1b}'),
        "{}",
        entry.url
    );
}
