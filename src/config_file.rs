//! Editing the config file in place: `lockwatch want` / `unwant`.
//!
//! Edits go through `toml_edit`, so the user's comments, ordering and formatting survive; only the one
//! `wanted` array changes. The edited text must still pass the strict parser ([`Config::parse`]) before
//! anything is written, and the write is atomic: a temporary file in the same directory (same permissions
//! as the original), `fsync`, the previous version kept as `config.toml.bak`, then `rename` over the
//! original and an `fsync` of the directory. A crash at any point leaves either the old or the new file,
//! never half of one.
//!
//! It edits `wanted` only; servers are added by hand (the README shows how). It does not lock the file
//! against concurrent editors: the last writer wins, and the `.bak` holds the version before.

use std::io::Write;
use std::path::{Path, PathBuf};

use toml_edit::{Array, DocumentMut, Item, Value};

use crate::config::Config;
use crate::error::{Error, Result};

/// What an edit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The file was changed and written.
    Changed,
    /// Nothing to do (already wanted / not wanted); the file was not touched.
    Unchanged,
}

fn config_error(message: String) -> Error {
    Error::Config(crate::config::ConfigError {
        file: String::new(),
        line: None,
        column: None,
        key: None,
        message,
    })
}

/// Adds (`want = true`) or removes `file` from server `server`'s `wanted` list in config `text`; returns the
/// new text, or `None` when nothing changes.
pub fn edit_wanted(text: &str, server: &str, file: &str, want: bool) -> Result<Option<String>> {
    let file = file.trim_start_matches('/');
    if file.is_empty() || file.ends_with('/') {
        return Err(config_error(format!(
            "\"{file}\" is not a file path; `wanted` lists files relative to the server URL"
        )));
    }
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|err| config_error(format!("the config file is not valid TOML: {err}")))?;
    let servers = doc
        .get_mut("servers")
        .and_then(Item::as_array_of_tables_mut)
        .ok_or_else(|| config_error("the config file has no [[servers]] entries to edit".into()))?;
    let known: Vec<String> = servers
        .iter()
        .filter_map(|t| t.get("name").and_then(Item::as_str).map(str::to_owned))
        .collect();
    let table = servers
        .iter_mut()
        .find(|t| t.get("name").and_then(Item::as_str).map(str::trim) == Some(server))
        .ok_or_else(|| {
            config_error(format!(
                "no server named \"{server}\" in the config (configured: {})",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ))
        })?;
    let listed = |v: &Value| v.as_str().map(|s| s.trim_start_matches('/')) == Some(file);
    let mut changed = false;
    if !want {
        // A file no longer wanted is no longer locked for the user when it frees up, either.
        if let Some(array) = table.get_mut("auto_lock").and_then(Item::as_array_mut) {
            let before = array.len();
            array.retain(|v| !listed(v));
            changed |= array.len() != before;
        }
    }
    match table.get_mut("wanted") {
        Some(item) => {
            let array = item.as_array_mut().ok_or_else(|| {
                config_error(format!("`wanted` of server \"{server}\" is not an array"))
            })?;
            let present = array.iter().any(listed);
            if want != present {
                if want {
                    array.push(file);
                } else {
                    array.retain(|v| !listed(v));
                }
                changed = true;
            }
        }
        None if !want => {}
        None => {
            let mut array = Array::new();
            array.push(file);
            table.insert("wanted", toml_edit::value(array));
            changed = true;
        }
    }
    if !changed {
        return Ok(None);
    }
    let edited = doc.to_string();
    // The result must still be a valid config: an edit never turns a working file into a broken one.
    // Password variables are not the point here; any name resolves.
    Config::parse(&edited, "edited config", &|_| Some(String::new()))?;
    Ok(Some(edited))
}

/// Edits the config file at `path` (see [`edit_wanted`]) and writes it atomically, keeping a `.bak`.
pub fn set_wanted(path: &Path, server: &str, file: &str, want: bool) -> Result<Outcome> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| Error::io(format!("reading {}", path.display()), &err))?;
    match edit_wanted(&text, server, file, want)? {
        None => Ok(Outcome::Unchanged),
        Some(edited) => {
            write_atomic(path, edited.as_bytes())?;
            Ok(Outcome::Changed)
        }
    }
}

/// `path` with `suffix` appended to its file name (`config.toml` → `config.toml.bak`).
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Replaces `path` with `bytes` atomically (temp file, fsync, rename, fsync of the folder), keeping the
/// previous content as `<name>.bak` and the original's permissions; creates the folder when missing.
///
/// Killed at any moment, it leaves `path` either as it was or as `bytes`, and `<name>.bak` either as it was
/// or as the version `path` had just before: each of the two is replaced by a rename, never written in
/// place. The backup is a hard link to the previous file (no copy to tear), made under a temporary name
/// and renamed over the old backup. A temporary file that a killed writer left behind is removed by a later
/// write once it is ten minutes old, clearly abandoned.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |what: &str, p: &Path| {
        let label = format!("{what} {}", p.display());
        move |err: std::io::Error| Error::io(label, &err)
    };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).map_err(io("creating the folder", dir))?;
    }
    remove_stale_temporaries(path);
    let tmp = sibling(path, &format!(".tmp-{}", std::process::id()));
    let staged_bak = sibling(path, &format!(".bak.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp).map_err(io("creating", &tmp))?;
        if let Ok(meta) = std::fs::metadata(path) {
            // The config may be private (0600); the new file keeps the original's permissions.
            file.set_permissions(meta.permissions())
                .map_err(io("setting permissions of", &tmp))?;
        }
        file.write_all(bytes).map_err(io("writing", &tmp))?;
        file.sync_all().map_err(io("syncing", &tmp))?;
        if path.exists() {
            let bak = sibling(path, ".bak");
            let _ = std::fs::remove_file(&staged_bak);
            if std::fs::hard_link(path, &staged_bak).is_err() {
                // A file system without hard links: a synced copy instead.
                std::fs::copy(path, &staged_bak).map_err(io("backing up to", &staged_bak))?;
                std::fs::File::open(&staged_bak)
                    .and_then(|f| f.sync_all())
                    .map_err(io("syncing", &staged_bak))?;
            }
            std::fs::rename(&staged_bak, &bak).map_err(io("backing up to", &bak))?;
        }
        std::fs::rename(&tmp, path).map_err(io("replacing", path))?;
        if let Some(dir) = dir {
            // The renames are durable only once the directory entries are; not every platform can open a
            // directory for syncing, and the rename already happened, so a failure here is not an error.
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
        let _ = std::fs::remove_file(&staged_bak);
    }
    result
}

/// Age after which a temporary file of [`write_atomic`] is taken as left behind by a killed writer. A live
/// writer holds its temporary file for milliseconds; this leaves a wide margin for a stalled disk.
const STALE_TEMPORARY: std::time::Duration = std::time::Duration::from_secs(600);

/// Removes `<name>.tmp-*` and `<name>.bak.tmp-*` next to `path` that are older than [`STALE_TEMPORARY`].
/// Best effort: a folder that cannot be listed is left as it is.
fn remove_stale_temporaries(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let name = name.to_string_lossy();
    let prefixes = [format!("{name}.tmp-"), format!("{name}.bak.tmp-")];
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        if !prefixes.iter().any(|p| file_name.starts_with(p.as_str())) {
            continue;
        }
        let abandoned = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|age| age > STALE_TEMPORARY);
        if abandoned {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# My servers
poll_interval_secs = 30 # keep it slow

[[servers]]
name = "team"   # the office cloud
url = "https://cloud.example.com/dav/"
watch = ["Reports/"]
wanted = [
    "Budget.xlsx", # Q3 numbers
]

[[servers]]
name = "lab"
url = "http://127.0.0.1:8080/dav/"
"#;

    #[test]
    fn want_appends_and_keeps_comments() {
        let out = edit_wanted(TEXT, "team", "Plan.pptx", true)
            .unwrap()
            .unwrap();
        assert!(out.contains("# Q3 numbers"), "{out}");
        assert!(
            out.contains("name = \"team\"   # the office cloud"),
            "{out}"
        );
        assert!(
            out.contains("poll_interval_secs = 30 # keep it slow"),
            "{out}"
        );
        let config = Config::parse(&out, "t", &|_| None).unwrap();
        assert_eq!(config.servers[0].wanted, vec!["Budget.xlsx", "Plan.pptx"]);
        // Only the wanted array changed.
        let changed: Vec<(&str, &str)> = TEXT
            .lines()
            .zip(out.lines())
            .filter(|(a, b)| a != b)
            .collect();
        assert!(changed.len() <= 2, "{changed:?}");
    }

    #[test]
    fn want_creates_the_array_and_is_idempotent() {
        let out = edit_wanted(TEXT, "lab", "/x y.odt", true).unwrap().unwrap();
        let config = Config::parse(&out, "t", &|_| None).unwrap();
        assert_eq!(config.servers[1].wanted, vec!["x y.odt"]);
        assert_eq!(edit_wanted(&out, "lab", "x y.odt", true).unwrap(), None);
    }

    #[test]
    fn unwant_removes_and_tolerates_absence() {
        let out = edit_wanted(TEXT, "team", "Budget.xlsx", false)
            .unwrap()
            .unwrap();
        let config = Config::parse(&out, "t", &|_| None).unwrap();
        assert!(config.servers[0].wanted.is_empty());
        assert_eq!(edit_wanted(TEXT, "lab", "nope", false).unwrap(), None);
    }

    #[test]
    fn unwant_also_ends_auto_lock() {
        let text =
            "[[servers]]\nname = \"a\"\nurl = \"http://h/\"\nauto_lock = [\"B.odt\"] # grab it\n";
        let out = edit_wanted(text, "a", "B.odt", false).unwrap().unwrap();
        let config = Config::parse(&out, "t", &|_| None).unwrap();
        assert!(config.servers[0].auto_lock.is_empty(), "{out}");
        assert!(config.servers[0].wanted.is_empty(), "{out}");
        assert_eq!(edit_wanted(&out, "a", "B.odt", false).unwrap(), None);
    }

    #[test]
    fn bad_requests_are_refused_with_reasons() {
        let err = edit_wanted(TEXT, "nobody", "a", true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("configured: team, lab"), "{err}");
        let err = edit_wanted(TEXT, "team", "Reports/", true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a file"), "{err}");
        assert!(edit_wanted("servers = 1", "team", "a", true).is_err());
    }

    #[test]
    fn atomic_write_keeps_a_backup_and_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, TEXT).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert_eq!(
            set_wanted(&path, "team", "New.odt", true).unwrap(),
            Outcome::Changed
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("config.toml.bak")).unwrap(),
            TEXT
        );
        assert!(std::fs::read_to_string(&path).unwrap().contains("New.odt"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert_eq!(
            set_wanted(&path, "team", "New.odt", true).unwrap(),
            Outcome::Unchanged
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn a_write_removes_temporaries_abandoned_by_killed_writers_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, TEXT).unwrap();
        let old = dir.path().join("config.toml.tmp-4242");
        let old_bak = dir.path().join("config.toml.bak.tmp-4242");
        let fresh = dir.path().join("config.toml.tmp-4243");
        let unrelated = dir.path().join("other.toml.tmp-1");
        for p in [&old, &old_bak, &fresh, &unrelated] {
            std::fs::write(p, "half").unwrap();
        }
        let long_ago = std::time::SystemTime::now() - STALE_TEMPORARY * 2;
        for p in [&old, &old_bak, &unrelated] {
            std::fs::File::options()
                .write(true)
                .open(p)
                .unwrap()
                .set_modified(long_ago)
                .unwrap();
        }
        write_atomic(&path, b"new").unwrap();
        assert!(!old.exists() && !old_bak.exists());
        // Possibly a writer at work right now, and another file's: both kept.
        assert!(fresh.exists() && unrelated.exists());
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("config.toml.bak")).unwrap(),
            TEXT
        );
    }
}
