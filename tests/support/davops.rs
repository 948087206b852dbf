//! Raw WebDAV requests for tests (LOCK, UNLOCK, PUT, MKCOL, PROPFIND) over plain HTTP with Basic
//! auth, using `reqwest` directly — independent of Lockwatch's own client, so tests can set up and
//! check server state without trusting the code under test.
//!
//! Does not: parse XML (callers get raw bodies), follow redirects, retry, or use proxies. Each call
//! builds its own client (no pooled connections shared across tokio runtimes of parallel tests).
#![allow(dead_code)]

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};

/// `DAV:lockscope`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Exclusive,
    Shared,
}

/// `Depth` header of a LOCK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    Zero,
    Infinity,
}

/// What to ask for in a LOCK.
#[derive(Clone, Debug)]
pub struct LockSpec {
    pub scope: Scope,
    pub depth: Depth,
    /// `Timeout: Second-N`; `None` sends `Timeout: Infinite`.
    pub timeout_secs: Option<u32>,
    /// Inner XML of `<D:owner>` (`D` = `DAV:`), e.g. `<D:href>mailto:bob@example.com</D:href>` or
    /// plain (already XML-escaped) text; `None` omits the owner element.
    pub owner_xml: Option<String>,
}

impl Default for LockSpec {
    /// Exclusive, depth 0, timeout 600 s, no owner.
    fn default() -> Self {
        LockSpec {
            scope: Scope::Exclusive,
            depth: Depth::Zero,
            timeout_secs: Some(600),
            owner_xml: None,
        }
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("build reqwest client")
}

fn method(name: &str) -> Method {
    Method::from_bytes(name.as_bytes()).expect("valid method")
}

/// The `lockinfo` body of a new LOCK.
pub fn lockinfo_xml(spec: &LockSpec) -> String {
    let scope = match spec.scope {
        Scope::Exclusive => "<D:exclusive/>",
        Scope::Shared => "<D:shared/>",
    };
    let owner = spec
        .owner_xml
        .as_ref()
        .map(|o| format!("<D:owner>{o}</D:owner>"))
        .unwrap_or_default();
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:lockinfo xmlns:D=\"DAV:\"><D:lockscope>{scope}</D:lockscope>\
         <D:locktype><D:write/></D:locktype>{owner}</D:lockinfo>"
    )
}

/// `Timeout` header value for `timeout_secs`.
pub fn timeout_header(timeout_secs: Option<u32>) -> String {
    timeout_secs
        .map(|s| format!("Second-{s}"))
        .unwrap_or_else(|| "Infinite".to_owned())
}

/// Takes a lock; returns its token without `<>`. `Err` carries the status and the body.
pub async fn lock(url: &str, user: (&str, &str), spec: &LockSpec) -> Result<String, String> {
    let depth = match spec.depth {
        Depth::Zero => "0",
        Depth::Infinity => "infinity",
    };
    let resp = client()
        .request(method("LOCK"), url)
        .basic_auth(user.0, Some(user.1))
        .header("Depth", depth)
        .header("Timeout", timeout_header(spec.timeout_secs))
        .header("Content-Type", "application/xml; charset=utf-8")
        .body(lockinfo_xml(spec))
        .send()
        .await
        .map_err(|e| format!("LOCK {url}: {e}"))?;
    let status = resp.status();
    let token = resp
        .headers()
        .get("lock-token")
        .and_then(|v| v.to_str().ok())
        .map(strip_angles);
    let body = resp.text().await.unwrap_or_default();
    match token {
        Some(t) if status.is_success() => Ok(t),
        _ => Err(format!("LOCK {url} as {}: {status}\n{body}", user.0)),
    }
}

/// Refreshes a lock (`LOCK` without body, `If: (<token>)`); returns status and body.
pub async fn refresh(
    url: &str,
    user: (&str, &str),
    token: &str,
    timeout_secs: Option<u32>,
) -> (StatusCode, String) {
    let resp = client()
        .request(method("LOCK"), url)
        .basic_auth(user.0, Some(user.1))
        .header("If", format!("(<{token}>)"))
        .header("Timeout", timeout_header(timeout_secs))
        .send()
        .await
        .unwrap_or_else(|e| panic!("LOCK (refresh) {url}: {e}"));
    let status = resp.status();
    (status, resp.text().await.unwrap_or_default())
}

/// Releases a lock (`Lock-Token: <token>`).
pub async fn unlock(url: &str, user: (&str, &str), token: &str) -> StatusCode {
    client()
        .request(method("UNLOCK"), url)
        .basic_auth(user.0, Some(user.1))
        .header("Lock-Token", format!("<{token}>"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("UNLOCK {url}: {e}"))
        .status()
}

/// Uploads `body` (no `If` header: fails with 423 on a resource locked by someone else).
pub async fn put(url: &str, user: (&str, &str), body: &[u8]) -> StatusCode {
    client()
        .put(url)
        .basic_auth(user.0, Some(user.1))
        .body(body.to_vec())
        .send()
        .await
        .unwrap_or_else(|e| panic!("PUT {url}: {e}"))
        .status()
}

/// Creates a collection (`url` should end with `/`).
pub async fn mkcol(url: &str, user: (&str, &str)) -> StatusCode {
    client()
        .request(method("MKCOL"), url)
        .basic_auth(user.0, Some(user.1))
        .send()
        .await
        .unwrap_or_else(|e| panic!("MKCOL {url}: {e}"))
        .status()
}

/// PROPFIND with `Depth: depth` ("0", "1", "infinity") and the given XML body.
pub async fn propfind(
    url: &str,
    user: (&str, &str),
    depth: &str,
    body: &str,
) -> (StatusCode, HeaderMap, String) {
    let resp = client()
        .request(method("PROPFIND"), url)
        .basic_auth(user.0, Some(user.1))
        .header("Depth", HeaderValue::from_str(depth).expect("valid Depth"))
        .header("Content-Type", "application/xml; charset=utf-8")
        .body(body.to_owned())
        .send()
        .await
        .unwrap_or_else(|e| panic!("PROPFIND {url}: {e}"));
    let status = resp.status();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.unwrap_or_default())
}

/// The PROPFIND body Lockwatch sends to plain WebDAV servers.
pub const LOCK_PROPFIND: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:propfind xmlns:D=\"DAV:\"><D:prop>\
<D:resourcetype/><D:getetag/><D:lockdiscovery/><D:supportedlock/></D:prop></D:propfind>";

fn strip_angles(v: &str) -> String {
    v.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}
