//! A WOPI host emulator, written from the WOPI protocol's lock semantics (protocols.md §3): `CheckFileInfo`
//! and `GetLock` / `Lock` / `RefreshLock` / `Unlock` / `UnlockAndRelock` on `POST /wopi/files/{id}` with
//! `X-WOPI-Override`, a lock table whose entries expire 30 minutes after the last Lock or RefreshLock (on an
//! injectable clock), `401` for a wrong access token, `404` for an unknown file, `409` with the current
//! `X-WOPI-Lock` on a mismatch, `400` when the lock header is missing, `501` for unknown operations.
//!
//! [`Deviations`] switch on behaviours real hosts show that the spec does not: "unlocked" answered with
//! `409` instead of `200`, the `X-WOPI-Lock` header left out instead of empty, a `X-WOPI-LockFailureReason`,
//! an `X-WOPI-ItemVersion` on GetLock, camelCase CheckFileInfo keys.
//!
//! Not emulated: file contents (GetFile / PutFile), proof keys, PutRelative and friends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;

use super::{Background, serve};

/// Behaviours of real hosts that differ from the spec.
#[derive(Debug, Clone, Default)]
pub struct Deviations {
    /// Answer GetLock on an unlocked file with `409` instead of `200`.
    pub unlocked_is_409: bool,
    /// Leave `X-WOPI-Lock` out (instead of empty) when there is no lock.
    pub omit_empty_lock_header: bool,
    /// Send this `X-WOPI-LockFailureReason` with every 409.
    pub failure_reason: Option<String>,
    /// Send `X-WOPI-ItemVersion` with GetLock.
    pub item_version_header: bool,
    /// Write CheckFileInfo keys in camelCase and booleans as strings.
    pub camel_case_info: bool,
}

struct File {
    name: String,
    token: String,
    version: u64,
    /// Lock id and the (emulated) time it expires.
    lock: Option<(String, i64)>,
}

struct State {
    files: HashMap<String, File>,
    offset: i64,
    deviations: Deviations,
    requests: Vec<String>,
}

impl State {
    fn now(&self) -> i64 {
        chrono::Utc::now().timestamp() + self.offset
    }

    fn current_lock(&mut self, id: &str) -> Option<String> {
        let now = self.now();
        let file = self.files.get_mut(id)?;
        if file
            .lock
            .as_ref()
            .is_some_and(|(_, expires)| *expires <= now)
        {
            file.lock = None;
        }
        file.lock.as_ref().map(|(lock, _)| lock.clone())
    }
}

/// The running emulator. Stops when dropped.
pub struct WopiHost {
    _guard: Background,
    addr: std::net::SocketAddr,
    state: Arc<Mutex<State>>,
}

const LIFETIME: i64 = 30 * 60;

impl WopiHost {
    /// A host that follows the spec.
    pub fn start() -> WopiHost {
        WopiHost::start_with(Deviations::default())
    }

    /// A host with `deviations`.
    pub fn start_with(deviations: Deviations) -> WopiHost {
        let state = Arc::new(Mutex::new(State {
            files: HashMap::new(),
            offset: 0,
            deviations,
            requests: Vec::new(),
        }));
        let shared = state.clone();
        let (guard, addr) = serve(move |req: hyper::Request<hyper::body::Incoming>| {
            let state = shared.clone();
            async move { handle(&state, &req) }
        });
        WopiHost {
            _guard: guard,
            addr,
            state,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// `http://127.0.0.1:PORT/wopi/files/`.
    pub fn base_url(&self) -> String {
        format!("http://{}/wopi/files/", self.addr)
    }

    /// Adds file `id` named `name`, readable with access token `token`.
    pub fn add_file(&self, id: &str, name: &str, token: &str) {
        self.state().files.insert(
            id.to_owned(),
            File {
                name: name.to_owned(),
                token: token.to_owned(),
                version: 1,
                lock: None,
            },
        );
    }

    /// Locks `id` with `lock_id` now, as an editor would.
    pub fn set_lock(&self, id: &str, lock_id: &str) {
        let mut state = self.state();
        let expires = state.now() + LIFETIME;
        state.files.get_mut(id).unwrap().lock = Some((lock_id.to_owned(), expires));
    }

    /// The current lock id of `id`.
    pub fn lock_of(&self, id: &str) -> Option<String> {
        self.state().current_lock(id)
    }

    /// Moves the host's clock forward.
    pub fn advance(&self, secs: i64) {
        self.state().offset += secs;
    }

    /// Every request as `OPERATION id` (`CHECK_FILE_INFO` for GETs), in order.
    pub fn requests(&self) -> Vec<String> {
        self.state().requests.clone()
    }
}

fn respond(status: u16, headers: &[(&str, String)], body: String) -> hyper::Response<Full<Bytes>> {
    let mut builder = hyper::Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, value.as_str());
    }
    builder.body(Full::new(Bytes::from(body))).unwrap()
}

fn handle(
    state: &Mutex<State>,
    req: &hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let mut state = state.lock().unwrap();
    let Some(id) = req
        .uri()
        .path()
        .strip_prefix("/wopi/files/")
        .map(str::to_owned)
    else {
        return respond(404, &[], String::new());
    };
    let token = url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v.into_owned());
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let op = header("x-wopi-override");
    state.requests.push(format!(
        "{} {id}",
        op.clone().unwrap_or_else(|| "CHECK_FILE_INFO".into())
    ));
    let Some(file) = state.files.get(&id) else {
        return respond(404, &[], String::new());
    };
    if token.as_deref() != Some(file.token.as_str()) {
        return respond(401, &[], String::new());
    }
    let deviations = state.deviations.clone();
    let current = state.current_lock(&id);
    let lock_headers = |lock: Option<&str>| -> Vec<(&str, String)> {
        let mut out = Vec::new();
        match lock {
            Some(lock) => out.push(("X-WOPI-Lock", lock.to_owned())),
            None if !deviations.omit_empty_lock_header => out.push(("X-WOPI-Lock", String::new())),
            None => {}
        }
        out
    };
    let conflict = |lock: Option<&str>| {
        let mut headers = lock_headers(lock);
        if let Some(reason) = &deviations.failure_reason {
            headers.push(("X-WOPI-LockFailureReason", reason.clone()));
        }
        respond(409, &headers, String::new())
    };
    let now = state.now();
    let Some(op) = op else {
        if req.method() != hyper::Method::GET {
            return respond(405, &[], String::new());
        }
        let file = &state.files[&id];
        let body = if deviations.camel_case_info {
            serde_json::json!({"baseFileName": file.name, "version": file.version, "supportsLocks": "true", "supportsGetLock": "true", "userCanWrite": "true", "lastModifiedTime": "Sat, 21 Nov 2026 10:00:00 GMT"})
        } else {
            serde_json::json!({"BaseFileName": file.name, "Version": file.version.to_string(), "SupportsLocks": true, "SupportsGetLock": true, "UserCanWrite": true, "HostEditUrl": format!("http://host/edit/{id}"), "LastModifiedTime": "2026-11-21T10:00:00.0000000Z"})
        };
        return respond(
            200,
            &[("Content-Type", "application/json".into())],
            body.to_string(),
        );
    };
    let requested = header("x-wopi-lock");
    let file = state.files.get_mut(&id).unwrap();
    match op.as_str() {
        "GET_LOCK" => {
            let mut headers = lock_headers(current.as_deref());
            if deviations.item_version_header {
                headers.push(("X-WOPI-ItemVersion", file.version.to_string()));
            }
            let status = if current.is_none() && deviations.unlocked_is_409 {
                409
            } else {
                200
            };
            respond(status, &headers, String::new())
        }
        "LOCK" | "REFRESH_LOCK" | "UNLOCK" => {
            let Some(requested) = requested.filter(|r| !r.is_empty()) else {
                return respond(400, &[], String::new());
            };
            let old = header("x-wopi-oldlock");
            match (op.as_str(), current.as_deref(), old.as_deref()) {
                // UnlockAndRelock: atomic swap when the old id matches.
                ("LOCK", Some(cur), Some(old)) if cur == old => {
                    file.lock = Some((requested, now + LIFETIME));
                    respond(200, &[], String::new())
                }
                ("LOCK", cur, Some(_)) => conflict(cur),
                ("LOCK", None, None) => {
                    file.lock = Some((requested, now + LIFETIME));
                    file.version += 1;
                    respond(200, &[], String::new())
                }
                ("LOCK" | "REFRESH_LOCK", Some(cur), None) if cur == requested => {
                    file.lock = Some((requested, now + LIFETIME));
                    respond(200, &[], String::new())
                }
                ("UNLOCK", Some(cur), None) if cur == requested => {
                    file.lock = None;
                    file.version += 1;
                    respond(200, &[], String::new())
                }
                (_, cur, _) => conflict(cur),
            }
        }
        _ => respond(501, &[], String::new()),
    }
}
