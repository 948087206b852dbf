//! The tray icon: the app's main surface while the window is closed.
//!
//! The icon turns into an open green padlock when a wanted file is free; the tooltip counts locked and
//! wanted files ("3 locked · 1 wanted"); the menu opens the window, lists the wanted files with their
//! state (choosing one reveals its row), pauses watching, refreshes, and quits. The counts also head the
//! menu as a disabled line: on Linux a tray icon has no tooltip (libayatana-appindicator has none, and
//! tray-icon ignores it there), so the menu is the only place a Linux desktop shows them. [`update`] is
//! called with every published snapshot and rebuilds the menu only when its text changed. Menu labels
//! are native widgets, not HTML; server-supplied names are still made inert and short.

use std::sync::{Arc, Mutex};

use chrono::Utc;
use lockwatch::display;
use lockwatch::model::{FileEntry, FileState};
use tauri::image::Image;
use tauri::menu::{CheckMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Runtime};

use crate::dto::{FocusFile, Snapshot};
use crate::session::Session;
use crate::{publish, reveal, show_window};

const TRAY_ID: &str = "main";
const WANT_PREFIX: &str = "want:";

/// The tray's view of a snapshot: everything its icon, tooltip and menu show.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    /// The counts, "2 locked · 1 wanted": the menu's first line.
    pub status: String,
    /// Whether a wanted file is free (the icon changes).
    pub wanted_free: bool,
    /// Wanted files: menu label and the file it reveals.
    pub wanted: Vec<(String, FocusFile)>,
    /// Whether watching is paused.
    pub paused: bool,
}

impl Summary {
    /// Hover text: the counts after the app's name.
    pub fn tooltip(&self) -> String {
        format!("Lockwatch: {}", self.status)
    }

    /// What the tray shows for `snapshot`.
    pub fn of(snapshot: &Snapshot) -> Summary {
        let locked = snapshot
            .files
            .iter()
            .filter(|f| f.state == FileState::Locked)
            .count();
        let wanted: Vec<&FileEntry> = snapshot.files.iter().filter(|f| f.wanted).collect();
        let free = wanted
            .iter()
            .filter(|f| f.state == FileState::Unlocked)
            .count();
        let mut status = format!("{locked} locked · {} wanted", wanted.len());
        if free > 0 {
            status.push_str(&format!(" · {free} free"));
        }
        if snapshot.paused {
            status.push_str(" · paused");
        }
        Summary {
            status,
            wanted_free: free > 0,
            wanted: wanted
                .iter()
                .map(|f| {
                    let focus = FocusFile {
                        server: f.server.clone(),
                        path: f.path.clone(),
                        problem: None,
                    };
                    (wanted_label(f), focus)
                })
                .collect(),
            paused: snapshot.paused,
        }
    }
}

/// "Budget.xlsx — locked by Alice", "Plan.pptx — free".
fn wanted_label(file: &FileEntry) -> String {
    let name = display::safe(file.name(), 40);
    let state = match file.state {
        FileState::Unlocked => "free".to_owned(),
        FileState::Locked => {
            let holder = file
                .locks
                .iter()
                .find_map(|l| l.owner.as_deref().or(l.owner_id.as_deref()))
                .map(|h| display::safe(h, 30));
            match holder {
                Some(holder) => format!("locked by {holder}"),
                None => "locked".to_owned(),
            }
        }
        FileState::Unsupported => "state unknown".to_owned(),
        FileState::Error => "cannot be read".to_owned(),
    };
    format!("{name} — {state}")
}

/// What the tray currently shows, to skip rebuilding an unchanged menu.
#[derive(Default)]
struct Shown(Mutex<Option<Summary>>);

/// Creates the tray icon with an empty menu; [`update`] fills it.
pub fn create<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    app.manage(Shown::default());
    let summary = Summary {
        status: "Reading the servers…".into(),
        ..Summary::default()
    };
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon(false)?)
        .tooltip(summary.tooltip())
        .menu(&menu(app, &summary)?)
        .show_menu_on_left_click(true)
        .on_menu_event(on_menu)
        .build(app)?;
    Ok(())
}

/// Shows `snapshot` in the tray (a no-op when there is no tray, e.g. under the mock runtime).
pub fn update<R: Runtime>(app: &AppHandle<R>, snapshot: &Snapshot) -> tauri::Result<()> {
    let (Some(tray), Some(shown)) = (app.tray_by_id(TRAY_ID), app.try_state::<Shown>()) else {
        return Ok(());
    };
    let summary = Summary::of(snapshot);
    let mut shown = lockwatch::sync::guard(&shown.0);
    if shown.as_ref() == Some(&summary) {
        return Ok(());
    }
    if shown.as_ref().map(|s| s.wanted_free) != Some(summary.wanted_free) {
        tray.set_icon(Some(icon(summary.wanted_free)?))?;
    }
    tray.set_tooltip(Some(summary.tooltip()))?;
    tray.set_menu(Some(menu(app, &summary)?))?;
    *shown = Some(summary);
    Ok(())
}

fn icon(wanted_free: bool) -> tauri::Result<Image<'static>> {
    if wanted_free {
        Image::from_bytes(include_bytes!("../icons/tray-free.png"))
    } else {
        Image::from_bytes(include_bytes!("../icons/tray.png"))
    }
}

fn menu<R: Runtime>(app: &AppHandle<R>, summary: &Summary) -> tauri::Result<Menu<R>> {
    let menu = Menu::new(app)?;
    menu.append(&MenuItem::new(app, &summary.status, false, None::<&str>)?)?;
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    menu.append(&MenuItem::with_id(
        app,
        "open",
        "Open Lockwatch",
        true,
        None::<&str>,
    )?)?;
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    if summary.wanted.is_empty() {
        menu.append(&MenuItem::new(app, "No wanted files", false, None::<&str>)?)?;
    } else {
        menu.append(&MenuItem::new(app, "Wanted files", false, None::<&str>)?)?;
        for (label, focus) in &summary.wanted {
            let id = format!("{WANT_PREFIX}{}", serde_json::to_string(focus)?);
            menu.append(&MenuItem::with_id(app, id, label, true, None::<&str>)?)?;
        }
    }
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    menu.append(&CheckMenuItem::with_id(
        app,
        "pause",
        "Pause watching",
        true,
        summary.paused,
        None::<&str>,
    )?)?;
    menu.append(&MenuItem::with_id(
        app,
        "refresh",
        "Refresh now",
        true,
        None::<&str>,
    )?)?;
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    menu.append(&MenuItem::with_id(
        app,
        "quit",
        "Quit Lockwatch",
        true,
        None::<&str>,
    )?)?;
    Ok(menu)
}

fn on_menu<R: Runtime>(app: &AppHandle<R>, event: MenuEvent) {
    let session = app.state::<Arc<Session>>().inner().clone();
    match event.id.as_ref() {
        "open" => show_window(app),
        "pause" => {
            if let Some(snapshot) = session.set_paused(!session.is_paused()) {
                publish(app, &snapshot);
            }
        }
        "refresh" => {
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                match session.refresh(Utc::now()).await {
                    Ok(snapshot) => publish(&app, &snapshot),
                    Err(error) => tracing::warn!(%error, "cannot read the servers"),
                }
            });
        }
        "quit" => app.exit(0),
        id => {
            if let Some(focus) = id
                .strip_prefix(WANT_PREFIX)
                .and_then(|json| serde_json::from_str::<FocusFile>(json).ok())
            {
                reveal(app, focus);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use lockwatch::model::{Expiry, Lock, LockKind, LockScope};

    use super::*;

    fn file(path: &str, state: FileState, owner: Option<&str>, wanted: bool) -> FileEntry {
        FileEntry {
            server: "team".into(),
            path: path.into(),
            name: None,
            url: format!("https://dav.example.com/{path}"),
            state,
            locks: owner
                .map(|owner| Lock {
                    owner: Some(owner.into()),
                    owner_id: None,
                    editor: None,
                    scope: LockScope::Exclusive,
                    kind: LockKind::Webdav,
                    token: None,
                    depth: "0".into(),
                    root: None,
                    acquired_at: None,
                    expires_at: None,
                    expiry: Expiry::Unknown,
                    timeout: None,
                    inherited: false,
                    mine: false,
                })
                .into_iter()
                .collect(),
            error: None,
            wanted,
            file_id: None,
        }
    }

    fn snapshot(files: Vec<FileEntry>, paused: bool) -> Snapshot {
        Snapshot {
            servers: Vec::new(),
            files,
            demo: false,
            paused,
            generated_at: Utc
                .with_ymd_and_hms(2026, 11, 21, 10, 0, 0)
                .single()
                .expect("time"),
            config_path: "config.toml".into(),
        }
    }

    #[test]
    fn counts_locked_and_wanted_and_names_the_holder() {
        let summary = Summary::of(&snapshot(
            vec![
                file("Budget.xlsx", FileState::Locked, Some("Alice"), true),
                file("Plan.pptx", FileState::Locked, Some("Bob"), false),
                file("Notes/Minutes.odt", FileState::Unlocked, None, false),
            ],
            false,
        ));
        assert_eq!(summary.status, "2 locked · 1 wanted");
        assert_eq!(summary.tooltip(), "Lockwatch: 2 locked · 1 wanted");
        assert!(!summary.wanted_free);
        assert_eq!(summary.wanted.len(), 1);
        assert_eq!(summary.wanted[0].0, "Budget.xlsx — locked by Alice");
        assert_eq!(summary.wanted[0].1.path, "Budget.xlsx");
    }

    #[test]
    fn a_free_wanted_file_changes_the_icon_and_says_so() {
        let summary = Summary::of(&snapshot(
            vec![file("Reports/Q3.docx", FileState::Unlocked, None, true)],
            true,
        ));
        assert!(summary.wanted_free);
        assert_eq!(summary.status, "0 locked · 1 wanted · 1 free · paused");
        assert_eq!(
            summary.tooltip(),
            "Lockwatch: 0 locked · 1 wanted · 1 free · paused"
        );
        assert_eq!(summary.wanted[0].0, "Q3.docx — free");
        assert!(summary.paused);
    }

    #[test]
    fn server_text_in_menu_labels_is_inert_and_short() {
        let hostile = format!("Eve\u{202E}gpj.exe\n{}", "x".repeat(100));
        let summary = Summary::of(&snapshot(
            vec![file("a.txt", FileState::Locked, Some(&hostile), true)],
            false,
        ));
        let label = &summary.wanted[0].0;
        assert!(
            !label.contains('\u{202E}') && !label.contains('\n'),
            "{label:?}"
        );
        assert!(label.chars().count() < 60, "{label:?}");
    }
}
