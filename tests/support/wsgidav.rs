//! A real WsgiDAV server (Python, cheroot) for integration tests.
//!
//! [`WsgiDav::start`] writes a JSON config into a fresh temp dir and runs
//! `wsgidav -c CONF` on `127.0.0.1:<free port>`: one filesystem share `/dav` (so
//! `base_url()` is `http://127.0.0.1:PORT/dav/`, like [`super::apache::Apache`]) backed by
//! `<tmp>/root`, the `SimpleDomainController` with every user in `super::USERS`, HTTP **Basic**
//! auth only (digest off), in-memory lock storage (`lock_storage: true`), no property manager.
//! The executable is `$LOCKWATCH_WSGIDAV` if set, else `<CARGO_MANIFEST_DIR>/.venv/bin/wsgidav`.
//! `Drop` stops the process group and removes the temp dir.
//!
//! Does not: install WsgiDAV (run `scripts/install-test-servers.sh`), persist locks, do TLS.
//! Shares the process helpers of `super::apache`.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use super::apache::{
    create_dir_shared, create_file_shared, free_port, log_tail, spawn_logged, stop_group, temp_dir,
    wait_ready,
};

const NOT_INSTALLED: &str = "WsgiDAV is not installed: run scripts/install-test-servers.sh";

/// A running WsgiDAV instance; stopped and cleaned up on drop.
pub struct WsgiDav {
    dir: PathBuf,
    root: PathBuf,
    child: Child,
    port: u16,
}

impl WsgiDav {
    /// WsgiDAV on 127.0.0.1:<free port>, serving a fresh temp dir at `/dav/` with HTTP Basic auth
    /// for every user in `super::USERS`.
    pub fn start() -> WsgiDav {
        let exe = executable();
        if !exe.is_file() {
            panic!("{NOT_INSTALLED} (looked for {})", exe.display());
        }
        let dir = temp_dir("wsgidav");
        let root = dir.join("root");
        fs::create_dir(&root).expect("create wsgidav root");

        let mut last_error = String::new();
        for _ in 0..5 {
            let port = free_port();
            let conf = dir.join("wsgidav.json");
            fs::write(&conf, config(&root, port)).expect("write wsgidav.json");
            let mut child = spawn_logged(
                Command::new(&exe)
                    .arg("-c")
                    .arg(&conf)
                    .current_dir(&dir)
                    .env("PYTHONUNBUFFERED", "1"),
                &dir,
            );
            match wait_ready(&mut child, port) {
                Ok(()) => {
                    return WsgiDav {
                        dir,
                        root,
                        child,
                        port,
                    };
                }
                Err(why) => {
                    stop_group(&mut child);
                    last_error = format!("{why}\n{}", log_tail(&dir, &["stderr.log"]));
                    if !last_error.contains("Address already in use") {
                        break;
                    }
                }
            }
        }
        let _ = fs::remove_dir_all(&dir);
        panic!("WsgiDAV did not start: {last_error}");
    }

    /// `http://127.0.0.1:PORT/dav/`
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/dav/", self.port)
    }

    /// `base_url() + rel`; `rel` must already be percent-encoded.
    pub fn url(&self, rel: &str) -> String {
        format!("{}{}", self.base_url(), rel.trim_start_matches('/'))
    }

    /// The served directory (what `/dav/` maps to).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The port WsgiDAV listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates `rel` (and parents) under [`Self::root`].
    pub fn create_dir(&self, rel: &str) -> PathBuf {
        create_dir_shared(&self.root, rel)
    }

    /// Writes `rel` under [`Self::root`] (creating parents).
    pub fn create_file(&self, rel: &str, body: &[u8]) -> PathBuf {
        create_file_shared(&self.root, rel, body)
    }

    /// The last lines of WsgiDAV's output (request log at verbose 3), for assertion messages.
    pub fn log(&self) -> String {
        log_tail(&self.dir, &["stderr.log"])
    }
}

impl Drop for WsgiDav {
    fn drop(&mut self) {
        stop_group(&mut self.child);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn executable() -> PathBuf {
    match std::env::var_os("LOCKWATCH_WSGIDAV") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/wsgidav"),
    }
}

fn config(root: &Path, port: u16) -> String {
    let users: Vec<String> = super::USERS
        .iter()
        .map(|(u, p)| format!("{}: {{\"password\": {}}}", json_str(u), json_str(p)))
        .collect();
    format!(
        r#"{{
  "host": "127.0.0.1",
  "port": {port},
  "provider_mapping": {{"/dav": {root}}},
  "http_authenticator": {{
    "domain_controller": null,
    "accept_basic": true,
    "accept_digest": false,
    "default_to_digest": false
  }},
  "simple_dc": {{"user_mapping": {{"*": {{{users}}}}}}},
  "lock_storage": true,
  "property_manager": null,
  "verbose": 3,
  "dir_browser": {{"enable": false}}
}}
"#,
        root = json_str(&root.to_string_lossy()),
        users = users.join(", "),
    )
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out += "\\\"",
            '\\' => out += "\\\\",
            c if (c as u32) < 0x20 => out += &format!("\\u{:04x}", c as u32),
            c => out.push(c),
        }
    }
    out + "\""
}
