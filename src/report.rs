//! The human form of a [`StatusReport`]: a table that fits the terminal, then the problems in words.
//!
//! Every server-supplied string passes through [`crate::display::safe`] so hostile names are shown inert and
//! bounded. Times are shown in the local time zone with a relative hint ("in 12 min"). The JSON form is
//! just `serde_json` on the model and needs nothing from here.

use chrono::{DateTime, Local, Utc};
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

use crate::display::safe;
use crate::error::ErrorInfo;
use crate::model::{
    Ability, Capabilities, Expiry, FileEntry, FileState, Lock, LockScope, StatusReport,
};

/// Widest a table cell's text may be before it is cut.
const CELL_MAX: usize = 60;

/// Renders `report` as a table of at most `width` columns, followed by one line per distinct problem.
pub fn render(report: &StatusReport, now: DateTime<Utc>, width: u16) -> String {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(width)
        .set_header(["File", "Server", "State", "Holder", "Editor", "Expires"]);
    for file in &report.files {
        let want = if file.wanted { " ★" } else { "" };
        let shown = match &file.name {
            Some(name) => format!("{} [{}]", safe(name, CELL_MAX), safe(&file.path, 24)),
            None => safe(&file.path, CELL_MAX),
        };
        table.add_row([
            format!("{shown}{want}"),
            safe(&file.server, 24),
            state_text(file),
            holders(file),
            editors(file),
            expiry_text(&file.locks, now),
        ]);
    }
    let mut out = if report.files.is_empty() {
        "No watched files.\n".to_owned()
    } else {
        format!("{table}\n")
    };
    let mut problems: Vec<&str> = Vec::new();
    for status in &report.servers {
        if let Some(err) = &status.error {
            problems.push(&err.message);
        }
    }
    for file in &report.files {
        if let Some(err) = &file.error
            && !problems.contains(&err.message.as_str())
        {
            problems.push(&err.message);
        }
    }
    for problem in problems {
        out.push_str(&wrap(
            &format!("! {}", safe(problem, 400)),
            usize::from(width),
        ));
    }
    out
}

/// Word-wraps `text` to `width` columns, indenting continuation lines by two spaces.
fn wrap(text: &str, width: usize) -> String {
    let width = width.max(20);
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let needed = line.chars().count() + 1 + word.chars().count();
        if !line.trim().is_empty() && needed > width {
            out.push_str(line.trim_end());
            out.push('\n');
            line = "  ".to_owned();
        }
        if !line.trim().is_empty() {
            line.push(' ');
        }
        // A single word longer than the line is cut rather than overflowing.
        line.push_str(&crate::display::truncate(word, width - 2));
    }
    out.push_str(line.trim_end());
    out.push('\n');
    out
}

fn state_text(file: &FileEntry) -> String {
    match file.state {
        FileState::Locked if file.locks.len() > 1 => format!("locked ×{}", file.locks.len()),
        FileState::Locked if file.locks.iter().all(|l| l.inherited) => "locked (folder)".to_owned(),
        state => state.as_str().to_owned(),
    }
}

fn holders(file: &FileEntry) -> String {
    let names: Vec<String> = file
        .locks
        .iter()
        .map(|lock| match (&lock.owner, &lock.owner_id) {
            (Some(owner), Some(id)) if owner != id && !id.starts_with("mailto:") => {
                format!("{} ({})", safe(owner, 40), safe(id, 30))
            }
            (Some(owner), _) => safe(owner, 40),
            (None, _) => "unknown".to_owned(),
        })
        .zip(&file.locks)
        .map(|(name, lock)| {
            if lock.mine {
                format!("{name} (you)")
            } else {
                name
            }
        })
        .collect();
    names.join(", ")
}

fn editors(file: &FileEntry) -> String {
    let mut names: Vec<String> = Vec::new();
    for lock in &file.locks {
        if let Some(editor) = &lock.editor {
            let editor = safe(editor, 30);
            if !names.contains(&editor) {
                names.push(editor);
            }
        }
    }
    names.join(", ")
}

/// The soonest end among `locks`: "never" only when every lock never ends, "unknown" when nothing is known.
fn expiry_text(locks: &[Lock], now: DateTime<Utc>) -> String {
    if locks.is_empty() {
        return String::new();
    }
    if let Some(soonest) = locks
        .iter()
        .filter(|l| l.expires_at.is_some())
        .min_by_key(|l| l.expires_at)
    {
        let at = soonest.expires_at.unwrap_or(now);
        return if soonest.expiry == Expiry::AtMost {
            format!("by {} at the latest", local_time(at, now))
        } else {
            format!("{} ({})", local_time(at, now), relative(at, now))
        };
    }
    if locks.iter().all(|l| l.expiry == Expiry::Never) {
        "never".to_owned()
    } else {
        "unknown".to_owned()
    }
}

fn local_time(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let local = at.with_timezone(&Local);
    if local.date_naive() == now.with_timezone(&Local).date_naive() {
        local.format("%H:%M").to_string()
    } else {
        local.format("%Y-%m-%d %H:%M").to_string()
    }
}

/// "in 12 min", "in 45 s", "expired 3 min ago".
pub fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (at - now).num_seconds();
    let span = |s: i64| {
        if s < 60 {
            format!("{s} s")
        } else if s < 3600 {
            format!("{} min", s / 60)
        } else if s < 86_400 * 2 {
            format!("{} h {} min", s / 3600, (s % 3600) / 60)
        } else {
            format!("{} days", s / 86_400)
        }
    };
    if secs >= 0 {
        format!("in {}", span(secs))
    } else {
        format!("expired {} ago", span(-secs))
    }
}

/// Renders `lockwatch servers`: one row per server with what it supports, then the problems.
pub fn render_capabilities(
    results: &[(String, Result<Capabilities, ErrorInfo>)],
    width: u16,
) -> String {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(width)
        .set_header([
            "Server",
            "Kind",
            "DAV class 2",
            "Scopes",
            "Reports locks",
            "Tokens visible",
            "Force unlock",
            "Nextcloud locking",
        ]);
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
    let ability = |a: Ability| match a {
        Ability::Yes => "yes",
        Ability::No => "no",
        Ability::Unknown => "unknown",
    };
    let mut problems = String::new();
    for (name, result) in results {
        match result {
            Ok(caps) => {
                let scopes: Vec<&str> = caps
                    .scopes
                    .iter()
                    .map(|s| match s {
                        LockScope::Exclusive => "exclusive",
                        LockScope::Shared => "shared",
                    })
                    .collect();
                let nextcloud = match (&caps.nextcloud_locking, caps.lock_type_feature) {
                    (Some(version), true) => format!("{version}, lock types"),
                    (Some(version), false) => version.clone(),
                    (None, _) => String::new(),
                };
                table.add_row([
                    safe(name, 24),
                    caps.kind.to_string(),
                    yes_no(caps.dav_class2),
                    scopes.join(", "),
                    yes_no(caps.reports_locks),
                    ability(caps.exposes_tokens).to_owned(),
                    ability(caps.can_force_unlock).to_owned(),
                    nextcloud,
                ]);
            }
            Err(err) => {
                table.add_row([safe(name, 24), "error".to_owned()]);
                problems.push_str(&wrap(
                    &format!("! {}", safe(&err.message, 400)),
                    usize::from(width),
                ));
            }
        }
    }
    format!("{table}\n{problems}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ErrorInfo, ErrorKind};
    use crate::model::{LockKind, LockScope, ServerStatus};

    fn lock(owner: &str, expires_at: Option<DateTime<Utc>>, expiry: Expiry) -> Lock {
        Lock {
            owner: Some(owner.into()),
            owner_id: Some(format!("mailto:{owner}")),
            editor: None,
            scope: LockScope::Shared,
            kind: LockKind::Webdav,
            token: None,
            depth: "0".into(),
            root: None,
            acquired_at: None,
            expires_at,
            expiry,
            timeout: None,
            inherited: false,
            mine: false,
        }
    }

    #[test]
    fn relative_times() {
        let now = Utc::now();
        assert_eq!(
            relative(now + chrono::TimeDelta::seconds(45), now),
            "in 45 s"
        );
        assert_eq!(
            relative(now + chrono::TimeDelta::seconds(12 * 60 + 5), now),
            "in 12 min"
        );
        assert_eq!(
            relative(now - chrono::TimeDelta::seconds(180), now),
            "expired 3 min ago"
        );
        assert_eq!(relative(now + chrono::TimeDelta::days(5), now), "in 5 days");
    }

    #[test]
    fn expiry_prefers_the_soonest_and_states_never_and_unknown() {
        let now = Utc::now();
        let soon = now + chrono::TimeDelta::minutes(5);
        assert!(
            expiry_text(
                &[
                    lock("a", None, Expiry::Never),
                    lock("b", Some(soon), Expiry::At)
                ],
                now
            )
            .contains("in 5 min")
        );
        assert_eq!(expiry_text(&[lock("a", None, Expiry::Never)], now), "never");
        assert_eq!(
            expiry_text(
                &[
                    lock("a", None, Expiry::Never),
                    lock("b", None, Expiry::Unknown)
                ],
                now
            ),
            "unknown"
        );
    }

    #[test]
    fn hostile_text_is_inert_and_problems_listed_once() {
        let now = Utc::now();
        let err = ErrorInfo {
            kind: ErrorKind::Network,
            message: "x: cannot reach h".into(),
        };
        let report = StatusReport {
            servers: vec![ServerStatus {
                name: "x".into(),
                kind: None,
                ok: false,
                error: Some(err.clone()),
            }],
            files: vec![
                FileEntry {
                    server: "x".into(),
                    path: "evil\u{202E}gpj.exe\u{1b}[2J".into(),
                    name: None,
                    url: "http://h/".into(),
                    state: FileState::Locked,
                    locks: vec![lock(
                        &"<img src=x onerror=alert(1)>".repeat(300),
                        None,
                        Expiry::Unknown,
                    )],
                    error: None,
                    wanted: true,
                    file_id: None,
                },
                FileEntry::failed("x", "b", "http://h/b", err),
            ],
        };
        let text = render(&report, now, 100);
        assert!(
            !text.contains('\u{202E}') && !text.contains('\u{1b}'),
            "{text}"
        );
        assert!(text.contains("<img src=x"), "{text}");
        assert_eq!(text.matches("cannot reach h").count(), 1, "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
    }
}
