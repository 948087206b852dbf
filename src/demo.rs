//! The built-in demo: a real WebDAV server (the `dav-server` crate, in memory) on loopback, with files locked
//! by simulated colleagues, so a new user sees Lockwatch work before configuring anything.
//!
//! The demo talks real WebDAV: locks are taken with `LOCK` requests carrying an owner, exactly as a desktop
//! client would, so every code path a real server exercises is exercised here too. With
//! [`Demo::simulate_colleagues`] the colleagues keep taking and releasing locks on a fixed script, so a
//! watching user sees files become free (including the wanted one).
//!
//! It is a demo, not a server to rely on: no authentication, everything in memory, gone when it stops.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use dav_server::DavHandler;
use dav_server::memfs::MemFs;
use dav_server::memls::MemLs;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use url::Url;

use crate::error::{Error, Result};

/// Path prefix the demo serves under.
const PREFIX: &str = "/dav";

/// The demo's files, created empty-ish at start.
const FILES: &[&str] = &[
    "Budget 2026.xlsx",
    "Plan.pptx",
    "Reports/Q3 report.docx",
    "Reports/Q4 draft.docx",
    "Reports/Minutes.odt",
    "Archive/2024 summary.pdf",
    "Archive/2025 summary.pdf",
];

/// The watch list of the demo config.
pub const WATCH: &[&str] = &["Budget 2026.xlsx", "Plan.pptx", "Reports/", "Archive/"];
/// The file the demo user waits for.
pub const WANTED: &str = "Budget 2026.xlsx";

/// A colleague's lock: who, where, how.
struct Colleague {
    owner: &'static str,
    path: &'static str,
    shared: bool,
    infinity: bool,
}

const ALICE_BUDGET: Colleague = Colleague {
    owner: "<D:href>mailto:alice@example.com</D:href>",
    path: "Budget 2026.xlsx",
    shared: false,
    infinity: false,
};
const BOB_Q3: Colleague = Colleague {
    owner: "Bob Builder",
    path: "Reports/Q3 report.docx",
    shared: false,
    infinity: false,
};
const CAROL_MINUTES: Colleague = Colleague {
    owner: "<D:href>mailto:carol@example.com</D:href>",
    path: "Reports/Minutes.odt",
    shared: true,
    infinity: false,
};
const DAVE_MINUTES: Colleague = Colleague {
    owner: "Dave (Desktop client)",
    path: "Reports/Minutes.odt",
    shared: true,
    infinity: false,
};
const ERIN_ARCHIVE: Colleague = Colleague {
    owner: "<D:href>mailto:erin@example.com</D:href>",
    path: "Archive/",
    shared: false,
    infinity: true,
};
const CAROL_PLAN: Colleague = Colleague {
    owner: "<D:href>mailto:carol@example.com</D:href>",
    path: "Plan.pptx",
    shared: false,
    infinity: false,
};

/// A running demo server. Stops when dropped.
pub struct Demo {
    url: Url,
    handler: DavHandler,
    held: Arc<Mutex<HashMap<Key, String>>>,
    server: JoinHandle<()>,
    colleagues: Option<JoinHandle<()>>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.server.abort();
        if let Some(task) = &self.colleagues {
            task.abort();
        }
    }
}

impl Demo {
    /// Starts the demo on `addr` (port 0 picks a free port) with its initial locks in place.
    pub async fn start(addr: SocketAddr) -> Result<Demo> {
        let handler = DavHandler::builder()
            .filesystem(MemFs::new())
            .locksystem(MemLs::new())
            .strip_prefix(PREFIX)
            .build_handler();
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|err| Error::io(format!("cannot listen on {addr}"), &err))?;
        let local = listener
            .local_addr()
            .map_err(|err| Error::io("cannot read the demo's address", &err))?;
        let url = Url::parse(&format!("http://{local}{PREFIX}/")).map_err(|err| Error::Io {
            context: "demo URL".into(),
            detail: err.to_string(),
        })?;
        let served = handler.clone();
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let handler = served.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let handler = handler.clone();
                        async move { Ok::<_, Infallible>(handler.handle(req).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        let demo = Demo {
            url,
            handler,
            held: Arc::new(Mutex::new(HashMap::new())),
            server,
            colleagues: None,
        };
        demo.populate().await?;
        Ok(demo)
    }

    /// The demo's base URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// A ready config file for the demo.
    pub fn config_toml(&self) -> String {
        let watch: Vec<String> = WATCH.iter().map(|w| format!("\"{w}\"")).collect();
        format!(
            "# Lockwatch demo: an in-memory WebDAV server with simulated colleagues.\n\
             poll_interval_secs = 5\n\n\
             [[servers]]\n\
             name = \"demo\"\n\
             kind = \"webdav\"\n\
             url = \"{}\"\n\
             watch = [{}]\n\
             wanted = [\"{WANTED}\"]\n",
            self.url,
            watch.join(", ")
        )
    }

    /// The parsed configuration for the demo.
    pub fn config(&self) -> Result<crate::config::Config> {
        Ok(crate::config::Config::parse(
            &self.config_toml(),
            "demo",
            &|_| None,
        )?)
    }

    /// Lets the colleagues take and release locks every `every`, forever (until the demo stops).
    pub fn simulate_colleagues(&mut self, every: Duration) {
        let handler = self.handler.clone();
        let held = self.held.clone();
        self.colleagues = Some(tokio::spawn(async move {
            // Each step releases or takes one lock; the cycle returns to the start state.
            let script: [(bool, Colleague); 6] = [
                (false, BOB_Q3),
                (true, CAROL_PLAN),
                (false, ALICE_BUDGET),
                (true, BOB_Q3),
                (false, CAROL_PLAN),
                (true, ALICE_BUDGET),
            ];
            let mut ticker = tokio::time::interval(every);
            ticker.tick().await;
            for (take, colleague) in script.iter().cycle() {
                ticker.tick().await;
                refresh_all(&handler, &held).await;
                if *take {
                    if let Ok(token) = lock(&handler, colleague).await {
                        lock_map(&held).insert(key(colleague), token);
                    }
                } else {
                    let token = lock_map(&held).remove(&key(colleague));
                    if let Some(token) = token {
                        unlock(&handler, colleague.path, &token).await;
                    }
                }
            }
        }));
    }

    async fn populate(&self) -> Result<()> {
        for folder in ["Reports/", "Archive/"] {
            request(&self.handler, "MKCOL", folder, &[], Bytes::new()).await?;
        }
        for file in FILES {
            let body = Bytes::from(format!("Demo content of {file}\n"));
            request(&self.handler, "PUT", file, &[], body).await?;
        }
        for colleague in [
            ALICE_BUDGET,
            BOB_Q3,
            CAROL_MINUTES,
            DAVE_MINUTES,
            ERIN_ARCHIVE,
        ] {
            let token = lock(&self.handler, &colleague).await?;
            lock_map(&self.held).insert(key(&colleague), token);
        }
        Ok(())
    }
}

/// Held tokens are keyed by (owner, path): one colleague may hold several locks.
type Key = (&'static str, &'static str);

fn key(colleague: &Colleague) -> Key {
    (colleague.owner, colleague.path)
}

fn lock_map(held: &Mutex<HashMap<Key, String>>) -> std::sync::MutexGuard<'_, HashMap<Key, String>> {
    crate::sync::guard(held)
}

/// Percent-encodes a demo path (spaces only occur in the demo's names).
fn encode(path: &str) -> String {
    path.replace(' ', "%20")
}

async fn request(
    handler: &DavHandler,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Result<(u16, hyper::HeaderMap)> {
    let mut builder = hyper::Request::builder()
        .method(method)
        .uri(format!("{PREFIX}/{}", encode(path)));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let req = builder.body(Full::new(body)).map_err(|err| Error::Io {
        context: "demo request".into(),
        detail: err.to_string(),
    })?;
    let response = handler.handle(req).await;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    // Drain the body so the handler finishes its work.
    let _ = response.into_body().collect().await;
    Ok((status, headers))
}

async fn lock(handler: &DavHandler, colleague: &Colleague) -> Result<String> {
    let scope = if colleague.shared {
        "shared"
    } else {
        "exclusive"
    };
    let body = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:{scope}/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>{}</D:owner></D:lockinfo>"#,
        colleague.owner
    );
    let depth = if colleague.infinity { "infinity" } else { "0" };
    let (status, headers) = request(
        handler,
        "LOCK",
        colleague.path,
        &[
            ("Timeout", "Second-600"),
            ("Depth", depth),
            ("Content-Type", "application/xml"),
        ],
        Bytes::from(body),
    )
    .await?;
    headers
        .get("lock-token")
        .and_then(|v| v.to_str().ok())
        .map(|t| t.trim_matches(|c| c == '<' || c == '>').to_owned())
        .filter(|_| status == 200 || status == 201)
        .ok_or_else(|| Error::Status {
            status,
            detail: format!("demo LOCK of {}", colleague.path),
        })
}

async fn unlock(handler: &DavHandler, path: &str, token: &str) {
    let header = format!("<{token}>");
    let _ = request(
        handler,
        "UNLOCK",
        path,
        &[("Lock-Token", &header)],
        Bytes::new(),
    )
    .await;
}

/// Keeps the colleagues' locks alive (dav-server caps exclusive timeouts at ten minutes).
async fn refresh_all(handler: &DavHandler, held: &Mutex<HashMap<Key, String>>) {
    let tokens: Vec<(Key, String)> = lock_map(held)
        .iter()
        .map(|(k, v)| (*k, v.clone()))
        .collect();
    for ((_, path), token) in tokens {
        let condition = format!("(<{token}>)");
        let _ = request(
            handler,
            "LOCK",
            path,
            &[("If", &condition), ("Timeout", "Second-600")],
            Bytes::new(),
        )
        .await;
    }
}
