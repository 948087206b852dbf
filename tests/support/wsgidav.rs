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
//! Started and stopped through [`super::server_process`], like Apache.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::server_process::{ServerProcess, temp_dir};

const NOT_INSTALLED: &str = "WsgiDAV is not installed: run scripts/install-test-servers.sh";

/// A running WsgiDAV instance; stopped and cleaned up on drop. The URL, root and file helpers are those of
/// its [`ServerProcess`].
pub struct WsgiDav {
    process: ServerProcess,
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
        let conf = dir.join("wsgidav.json");
        let process = ServerProcess::start(
            "WsgiDAV",
            dir.clone(),
            root.clone(),
            &["stderr.log"],
            |port| {
                fs::write(&conf, config(&root, port)).expect("write wsgidav.json");
                let mut cmd = Command::new(&exe);
                cmd.arg("-c")
                    .arg(&conf)
                    .current_dir(&dir)
                    .env("PYTHONUNBUFFERED", "1");
                cmd
            },
        );
        WsgiDav { process }
    }

    /// The last lines of WsgiDAV's output (request log at verbose 3), for assertion messages.
    pub fn log(&self) -> String {
        self.process.log_tail(&["stderr.log"])
    }
}

impl std::ops::Deref for WsgiDav {
    type Target = ServerProcess;

    fn deref(&self) -> &ServerProcess {
        &self.process
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
