//! The command line's watch commands: `watch`, `history`, `want`, `unwant`.
//!
//! Adapters only: each command loads what it needs, calls the engine ([`lockwatch::monitor`],
//! [`lockwatch::history`], [`lockwatch::config_file`]) and prints. The monitor records, announces and
//! auto-locks; this module turns its updates into lines and handles notification buttons.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{DateTime, Local, Utc};
use lockwatch::actions::Action;
use lockwatch::config_file::{self, Outcome};
use lockwatch::demo::Demo;
use lockwatch::display;
use lockwatch::held::HeldLocks;
use lockwatch::history::{self, History};
use lockwatch::model::Lock;
use lockwatch::monitor::{Monitor, Setup, Update};
use lockwatch::secrets::{KeyringStore, SecretStore};
use lockwatch::watch::notice::{ACTION_LOCK, ACTION_OPEN, DesktopNotifier, NoticeAction};
use lockwatch::watch::{LockEvent, SystemClock};

use super::{ConfigSource, Usage, load_config};

fn holders(locks: &[Lock]) -> String {
    let names: Vec<String> = locks
        .iter()
        .map(|l| {
            display::safe(
                l.owner
                    .as_deref()
                    .or(l.owner_id.as_deref())
                    .unwrap_or("someone"),
                60,
            )
        })
        .collect();
    if names.is_empty() {
        "someone".into()
    } else {
        names.join(", ")
    }
}

fn clock_time(at: &DateTime<Utc>) -> String {
    at.with_timezone(&Local).format("%H:%M:%S").to_string()
}

/// One human-readable line for `event`.
fn describe(event: &LockEvent) -> String {
    let what = match event {
        LockEvent::Locked { locks, .. } => format!("locked by {}", holders(locks)),
        LockEvent::Unlocked { released, .. } => format!("free (released by {})", holders(released)),
        LockEvent::HolderChanged { before, after, .. } => {
            format!("now locked by {} (was {})", holders(after), holders(before))
        }
        LockEvent::Refreshed { lock, .. } => format!(
            "lock of {} refreshed{}",
            holders(std::slice::from_ref(lock)),
            lock.expires_at
                .map(|e| format!(" until {}", clock_time(&e)))
                .unwrap_or_default()
        ),
        LockEvent::ExpiringSoon {
            lock, expires_at, ..
        } => format!(
            "lock of {} expires at {}",
            holders(std::slice::from_ref(lock)),
            clock_time(expires_at)
        ),
        LockEvent::Expired {
            lock, expired_at, ..
        } => format!(
            "stale: {}'s lock expired at {} but the server still lists it",
            holders(std::slice::from_ref(lock)),
            clock_time(expired_at)
        ),
        LockEvent::ServerDown {
            error,
            retry_in_secs,
            ..
        } => format!(
            "server down: {}{}",
            display::safe(&error.message, 200),
            retry_in_secs
                .map(|s| format!(" (retrying in {s} s)"))
                .unwrap_or_default()
        ),
        LockEvent::ServerBack { down_since, .. } => {
            format!("server back (down since {})", clock_time(down_since))
        }
    };
    let star = if matches!(
        event,
        LockEvent::Locked { wanted: true, .. } | LockEvent::Unlocked { wanted: true, .. }
    ) {
        " ★"
    } else {
        ""
    };
    format!(
        "{}  {}  {}{}  {}",
        clock_time(&event.at()),
        display::safe(event.server(), 40),
        display::safe(event.path().unwrap_or("-"), 80),
        star,
        what
    )
}

pub(crate) async fn run_watch(config_path: Option<PathBuf>, json: bool) -> Result<ExitCode, Usage> {
    let file = config_path.clone().or_else(lockwatch::config::default_path);
    let (config, _demo) = match load_config(config_path)? {
        ConfigSource::File(config) => (config, None),
        ConfigSource::Missing(path) => {
            let demo = Demo::start(SocketAddr::from(([127, 0, 0, 1], 0)))
                .await
                .map_err(|err| Usage(format!("cannot start the built-in demo: {err}")))?;
            eprintln!(
                "No config file at {}: watching the built-in demo server.\n",
                path.display()
            );
            let config = demo
                .config()
                .map_err(|err| Usage(format!("the demo config is invalid: {err}")))?;
            (config, Some(demo))
        }
    };
    if config.servers.is_empty() {
        return Err(Usage(
            "no servers configured; add a [[servers]] entry to the config file (see the README)"
                .into(),
        ));
    }
    let history = match History::for_config(&config, Utc::now()) {
        Ok(history) => Some(Arc::new(history)),
        Err(err) => {
            eprintln!("lockwatch: history is off: {err}");
            None
        }
    };
    let held = match HeldLocks::in_data_dir() {
        Ok(held) => Some(held),
        Err(err) => {
            eprintln!("lockwatch: auto-lock and \"Lock it now\" are off: {err}");
            None
        }
    };
    let (actions_tx, mut actions) = tokio::sync::mpsc::unbounded_channel::<NoticeAction>();
    let secrets: Arc<dyn SecretStore> = Arc::new(KeyringStore);
    // The code that read the arguments, the config and the history has done its work for the day:
    // its pages go back to the system before watching starts, and what watching uses comes back.
    lockwatch::memory::page_out_mapped_files();
    let (mut monitor, mut updates) = Monitor::start(
        config,
        Setup {
            secrets,
            notifier: Arc::new(DesktopNotifier::new(Some(actions_tx))),
            history,
            held,
            clock: Arc::new(SystemClock),
            pacing: None,
        },
    );
    if _demo.is_none()
        && let Some(file) = file
    {
        monitor.follow_config_file(file);
    }
    let mut out = std::io::stdout();
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            Some(action) = actions.recv() => notice_action(&monitor, &action).await,
            update = updates.recv() => {
                let Some(update) = update else { break };
                let line = match &update {
                    Update::Event(event) if json => serde_json::to_string(event).unwrap_or_default(),
                    Update::Event(event) => describe(event),
                    Update::Problem { message } => {
                        eprintln!("lockwatch: {}", display::safe(message, 400));
                        continue;
                    }
                    Update::Reconfigured => {
                        eprintln!("lockwatch: the config file changed; now watching with the new settings");
                        continue;
                    }
                    Update::Notified(_) => continue,
                };
                if let Err(err) = writeln!(out, "{line}").and_then(|()| out.flush()) {
                    if err.kind() == std::io::ErrorKind::BrokenPipe {
                        break;
                    }
                    eprintln!("lockwatch: cannot write the output: {err}");
                }
            }
        }
    }
    drop(monitor);
    Ok(ExitCode::SUCCESS)
}

/// Handles a notification button: "Lock it now" locks the file for the user, "Open" opens it with the
/// desktop's opener.
async fn notice_action(monitor: &Monitor, action: &NoticeAction) {
    if action.action == ACTION_LOCK {
        match monitor
            .perform(&action.server, &action.path, Action::LOCK_NOW)
            .await
        {
            Ok(report) if report.outcome.ok => {}
            Ok(report) => eprintln!("lockwatch: {}", display::safe(&report.outcome.message, 400)),
            Err(err) => eprintln!("lockwatch: {}", display::safe(&err.to_string(), 400)),
        }
        return;
    }
    if action.action != ACTION_OPEN {
        return;
    }
    let config = monitor.config();
    let Some(server) = config.server(&action.server) else {
        return;
    };
    let url = lockwatch::protocol::resource_url(&server.url, &action.path);
    if let Err(err) = open::that_detached(url.as_str()) {
        eprintln!(
            "lockwatch: cannot open {}: {err}",
            display::safe(&action.path, 120)
        );
    }
}

pub(crate) fn run_history(
    server: Option<String>,
    path: Option<String>,
    json: bool,
) -> Result<ExitCode, Usage> {
    let Some(db) = history::path() else {
        return Err(Usage(
            "cannot find the user's data directory; set LOCKWATCH_HISTORY".into(),
        ));
    };
    let now = Utc::now();
    let (holds, requests) = if db.exists() {
        // Retention and the stale threshold come from the defaults here: the config may be absent, and
        // reading must never prune what a running watcher still needs.
        let history = History::open(
            &db,
            std::time::Duration::from_secs(lockwatch::config::DEFAULT_STALE_AFTER_SECS),
            std::time::Duration::MAX,
            now,
        )
        .map_err(|err| Usage(err.to_string()))?;
        let holds = history
            .holds(server.as_deref(), path.as_deref(), now)
            .map_err(|err| Usage(err.to_string()))?;
        let requests = history
            .asks(server.as_deref(), path.as_deref())
            .map_err(|err| Usage(err.to_string()))?;
        (holds, requests)
    } else {
        (Vec::new(), Vec::new())
    };
    let mut out = std::io::stdout().lock();
    let written = if json {
        serde_json::to_string_pretty(&serde_json::json!({ "holds": holds, "requests": requests }))
            .map_err(std::io::Error::other)
            .and_then(|text| writeln!(out, "{text}"))
    } else if holds.is_empty() && requests.is_empty() {
        writeln!(
            out,
            "No history yet: `lockwatch watch` records who holds which file."
        )
    } else {
        let when = |t: &DateTime<Utc>| t.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string();
        let holder = |name: Option<&str>, id: Option<&str>| {
            display::safe(name.or(id).unwrap_or("someone"), 40)
        };
        let mut text = String::new();
        if !holds.is_empty() {
            let mut table = comfy_table::Table::new();
            table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
            table.set_header(["File", "Server", "Holder", "From", "Until", ""]);
            for hold in &holds {
                table.add_row([
                    display::safe(&hold.path, 60),
                    display::safe(&hold.server, 30),
                    holder(hold.holder.as_deref(), hold.holder_id.as_deref()),
                    when(&hold.from),
                    hold.until
                        .as_ref()
                        .map_or_else(|| "still held".to_owned(), when),
                    if hold.stale {
                        "stale".to_owned()
                    } else {
                        String::new()
                    },
                ]);
            }
            text.push_str(&format!("{table}\n"));
        }
        if !requests.is_empty() {
            let mut table = comfy_table::Table::new();
            table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
            table.set_header(["File", "Server", "Asked", "Via", "When", "Outcome"]);
            for request in &requests {
                table.add_row([
                    display::safe(&request.path, 60),
                    display::safe(&request.server, 30),
                    holder(request.holder.as_deref(), Some(&request.holder_id)),
                    request.channel.as_str().to_owned(),
                    when(&request.at),
                    format!(
                        "{}: {}",
                        if request.ok { "sent" } else { "failed" },
                        display::safe(&request.detail, 80)
                    ),
                ]);
            }
            if !holds.is_empty() {
                text.push('\n');
            }
            text.push_str(&format!("Requests to release\n{table}\n"));
        }
        write!(out, "{text}")
    };
    match written {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("lockwatch: cannot write the output: {err}");
            Ok(ExitCode::FAILURE)
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}

pub(crate) fn run_want(
    config_path: Option<PathBuf>,
    server: &str,
    path: &str,
    want: bool,
) -> Result<ExitCode, Usage> {
    let file = match config_path {
        Some(path) => path,
        None => lockwatch::config::default_path().ok_or_else(|| {
            Usage("cannot find the user's config directory; pass --config PATH".into())
        })?,
    };
    if !file.exists() {
        return Err(Usage(format!(
            "no config file at {}; add the server there first (see the README)",
            file.display()
        )));
    }
    let outcome = config_file::set_wanted(&file, server, path, want).map_err(|err| {
        Usage(format!(
            "{}: {}",
            file.display(),
            err.to_string().trim_start_matches(": ")
        ))
    })?;
    let path = display::safe(path.trim_start_matches('/'), 120);
    let message = match (want, outcome) {
        (true, Outcome::Changed) => {
            format!("{path} on {server} is now wanted: you will be told when it is free")
        }
        (true, Outcome::Unchanged) => format!("{path} on {server} was already wanted"),
        (false, Outcome::Changed) => format!("{path} on {server} is no longer wanted"),
        (false, Outcome::Unchanged) => format!("{path} on {server} was not wanted"),
    };
    println!("{message}");
    Ok(ExitCode::SUCCESS)
}
