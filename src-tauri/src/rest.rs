//! What the app gives back once its window is closed, since it spends most of the day that way.
//!
//! The window's webview brings WebKit with it. Closing the window destroys the webview and WebKit ends
//! the web process that rendered it, but two things stay: WebKit's network process, which WebKitGTK
//! keeps for the web context (and Tauri keeps that for the next window), and, in the app's own process,
//! the pages of WebKit, GTK and the GL drivers that drew the window. A few seconds ([`REST_AFTER`]) after
//! the window is destroyed, if no window has opened since, the app ends the network process (WebKit
//! starts a new one with the next window) and asks the system to take back the file pages it no longer
//! uses ([`lockwatch::memory::page_out_mapped_files`]): those the tray and the engine go on using come
//! back at once, the others only when a window opens again. The network process stays while WebDriver
//! drives the app, since ending it ends the session. A start at login, which opens no window,
//! rests the same way after start-up.

use std::time::Duration;

use tauri::{AppHandle, Manager, Runtime};

/// How long after the window is destroyed the app rests: long enough for WebKit to end the web process,
/// short enough that the memory comes back while the user moves on.
pub const REST_AFTER: Duration = Duration::from_secs(5);

/// The name WebKit gives its network process (`/proc/PID/comm`, cut at 15 bytes).
const NETWORK_PROCESS: &str = "WebKitNetworkPr";

/// Rests the app after [`REST_AFTER`], unless a window is open by then.
pub fn soon<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(REST_AFTER).await;
        let (ended, ended_rx) = tokio::sync::oneshot::channel();
        let handle = app.clone();
        // Windows are created on the main thread, so none can appear between the check and the end of
        // the network process.
        let asked = app.run_on_main_thread(move || {
            let rests = handle.webview_windows().is_empty();
            if rests {
                end_network_process();
            }
            let _ = ended.send(rests);
        });
        if asked.is_err() || ended_rx.await != Ok(true) {
            return;
        }
        // The network process's pages are shared with it until it has exited.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let paged_out = tauri::async_runtime::spawn_blocking(|| {
            lockwatch::memory::return_free_pages();
            lockwatch::memory::page_out_mapped_files()
        })
        .await;
        tracing::debug!(?paged_out, "resting with the window closed");
    });
}

/// Ends the network processes WebKit started for this process (on Linux; elsewhere the system's web
/// view manages its own), unless WebDriver or a remote inspector is attached (WebKitWebDriver starts the
/// app with `WEBKIT_INSPECTOR_SERVER` set): ending the process would end that session.
fn end_network_process() {
    if std::env::var_os("WEBKIT_INSPECTOR_SERVER").is_some() {
        return;
    }
    #[cfg(target_os = "linux")]
    for pid in children_named(NETWORK_PROCESS) {
        #[allow(unsafe_code)]
        // SAFETY: `kill` only sends a signal; `pid` is a child of this process that has not been reaped
        // (WebKit reaps it when it exits), so the number cannot have passed to another process.
        let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
        if sent != 0 {
            tracing::warn!(pid, err = %std::io::Error::last_os_error(), "cannot end WebKit's network process");
        }
    }
}

/// This process's children called `name`.
#[cfg(target_os = "linux")]
fn children_named(name: &str) -> Vec<i32> {
    let me = std::process::id().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| parent_and_name(&stat).map(|(p, n)| p == me && n == name))
                .unwrap_or(false)
        })
        .collect()
}

/// The parent's pid and the name in a `/proc/PID/stat` line (the name may hold spaces and parentheses).
#[cfg(any(target_os = "linux", test))]
fn parent_and_name(stat: &str) -> Option<(&str, &str)> {
    let (head, rest) = stat.rsplit_once(')')?;
    let (_, name) = head.split_once('(')?;
    let mut fields = rest.split_ascii_whitespace();
    let _state = fields.next()?;
    Some((fields.next()?, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_gives_its_parent_and_name() {
        assert_eq!(
            parent_and_name("4242 (WebKitNetworkPr) S 4200 4200 4200 0 -1 4194560 1 0"),
            Some(("4200", NETWORK_PROCESS))
        );
        assert_eq!(
            parent_and_name("7 (odd) name)) R 1 7 7 0"),
            Some(("1", "odd) name)"))
        );
        assert_eq!(parent_and_name("garbage"), None);
    }

    #[test]
    fn only_this_processs_children_are_found_by_name() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        let found = children_named("sleep");
        child.kill().expect("kill");
        child.wait().expect("wait");
        assert_eq!(found, [child.id() as i32]);
        assert!(children_named(NETWORK_PROCESS).is_empty());
    }
}
