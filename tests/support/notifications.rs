//! A real notification server on a private D-Bus session bus: `dbus-run-session` running a tiny Python
//! listener that owns `org.freedesktop.Notifications` and reports every notification as a JSON line.
//!
//! Needs `dbus-run-session` (package dbus-daemon), python3-dbus and python3-gi from Debian (the system
//! Python, `/usr/bin/python3`, because those bindings are not on PyPI in usable form). Dropping the guard
//! closes the listener's stdin, which ends it and with it the bus.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};

pub struct NotificationServer {
    _child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    address: String,
}

impl NotificationServer {
    pub async fn start() -> NotificationServer {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/support/notifications.py"
        );
        let mut child = tokio::process::Command::new("dbus-run-session")
            .args(["--", "/usr/bin/python3", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("dbus-run-session (install: scripts/install-test-servers.sh)");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the notification server did not start within 20 s")
            .unwrap()
            .expect("the notification server exited (python3-dbus / python3-gi missing?)");
        let ready: Value = serde_json::from_str(&first).unwrap();
        let address = ready["ready"].as_str().unwrap().to_owned();
        NotificationServer {
            _child: child,
            lines,
            address,
        }
    }

    /// `DBUS_SESSION_BUS_ADDRESS` of the private bus.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The next notification received, waiting up to `within`.
    pub async fn next(&mut self, within: Duration) -> Option<Value> {
        loop {
            let line = tokio::time::timeout(within, self.lines.next_line())
                .await
                .ok()?
                .ok()??;
            let value: Value = serde_json::from_str(&line).unwrap();
            if value.get("invoked").is_none() {
                return Some(value);
            }
        }
    }

    /// Presses button `action` of notification `id`, as a person clicking it would.
    pub async fn invoke(&mut self, id: u64, action: &str) {
        let command = serde_json::json!({ "invoke": id, "action": action });
        let stdin = self._child.stdin.as_mut().unwrap();
        stdin
            .write_all(format!("{command}\n").as_bytes())
            .await
            .unwrap();
        stdin.flush().await.unwrap();
    }
}
