//! A real notification server on a private D-Bus session bus: a `dbus-daemon` of its own and a tiny
//! Python listener on it that owns `org.freedesktop.Notifications` and reports every notification as a
//! JSON line.
//!
//! Needs `dbus-daemon`, python3-dbus and python3-gi from Debian (the system Python, `/usr/bin/python3`,
//! because those bindings are not on PyPI in usable form). Both processes are children of the test and
//! end when the guard is dropped. (Under `dbus-run-session`, ending the session leader left its
//! `dbus-daemon` running: only a clean exit of the leader stops it.)

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};

pub struct NotificationServer {
    listener: Child,
    lines: Lines<BufReader<ChildStdout>>,
    address: String,
    _bus: Child,
}

/// The lines `child` writes on its standard output, and the first of them (waited for up to 20 s).
async fn first_line(child: &mut Child, what: &str) -> (Lines<BufReader<ChildStdout>>, String) {
    let mut lines = BufReader::new(child.stdout.take().expect("a piped stdout")).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .unwrap_or_else(|_| panic!("nothing from {what} within 20 s"))
        .expect("read")
        .unwrap_or_else(|| panic!("{what}: exited without a word"));
    (lines, first)
}

impl NotificationServer {
    pub async fn start() -> NotificationServer {
        let mut bus = tokio::process::Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("dbus-daemon (install: scripts/install-test-servers.sh)");
        let (_, address) = first_line(&mut bus, "dbus-daemon's address").await;
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/support/notifications.py"
        );
        let mut listener = tokio::process::Command::new("/usr/bin/python3")
            .arg(script)
            .env("DBUS_SESSION_BUS_ADDRESS", address.trim())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("/usr/bin/python3");
        let (lines, first) = first_line(
            &mut listener,
            "the notification server (python3-dbus / python3-gi missing?)",
        )
        .await;
        let ready: Value = serde_json::from_str(&first).unwrap();
        let address = ready["ready"].as_str().unwrap().to_owned();
        NotificationServer {
            listener,
            lines,
            address,
            _bus: bus,
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
        let stdin = self.listener.stdin.as_mut().unwrap();
        stdin
            .write_all(format!("{command}\n").as_bytes())
            .await
            .unwrap();
        stdin.flush().await.unwrap();
    }
}
