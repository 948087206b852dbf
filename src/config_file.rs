//! Editing the config file in place: `lockwatch want` / `unwant`, and the desktop app's servers view.
//!
//! Edits go through `toml_edit`, so the user's comments, ordering and formatting survive; only the one
//! `wanted` array changes. The edited text must still pass the strict parser ([`Config::parse`]) before
//! anything is written, and the write is atomic: a temporary file in the same directory (same permissions
//! as the original), `fsync`, the previous version kept as `config.toml.bak`, then `rename` over the
//! original and an `fsync` of the directory. A crash at any point leaves either the old or the new file,
//! never half of one.
//!
//! It edits `wanted` lists ([`edit_wanted`]) and whole `[[servers]]` entries ([`edit_server`],
//! [`edit_remove_server`]): only the keys a person edits in a form; everything else in an entry stays as
//! written. Passwords are never written here (they go to the OS keyring). It does not lock the file
//! against concurrent editors: the last writer wins, and the `.bak` holds the version before.

use std::io::Write;
use std::path::{Path, PathBuf};

use toml_edit::{Array, DocumentMut, Item, Value};

use crate::config::{Config, KindSetting};
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

/// One `[[servers]]` entry as a front end edits it: the fields a person sets in a form. Everything else
/// in the entry (`timeout_secs`, `ca_file`, `[servers.ask]`, WOPI access token variables, comments) is
/// kept as it is in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerEntry {
    /// Unique name.
    pub name: String,
    /// Protocol or auto-detection.
    pub kind: KindSetting,
    /// Base URL.
    pub url: String,
    /// User name; `None` for anonymous access.
    pub username: Option<String>,
    /// The environment variable holding the password; `None` means the OS keyring.
    pub password_env: Option<String>,
    /// Watched paths.
    pub watch: Vec<String>,
    /// Wanted files.
    pub wanted: Vec<String>,
}

/// Whether [`edit_server`] adds a new entry or changes an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerEdit {
    /// Add a server; a server with the same name is an error.
    Add,
    /// Change the server with the same name; a missing one is an error.
    Change,
}

fn kind_text(kind: KindSetting) -> &'static str {
    match kind {
        KindSetting::Auto => "auto",
        KindSetting::Webdav => "webdav",
        KindSetting::Nextcloud => "nextcloud",
        KindSetting::Wopi => "wopi",
    }
}

/// Sets `key` to `value` in `table`, keeping the key's decoration (comments) when it exists.
fn set_value(table: &mut toml_edit::Table, key: &str, value: Value) {
    match table.get_mut(key).and_then(Item::as_value_mut) {
        Some(old) => {
            let decor = old.decor().clone();
            *old = value;
            *old.decor_mut() = decor;
        }
        None => {
            table.insert(key, Item::Value(value));
        }
    }
}

fn set_optional(table: &mut toml_edit::Table, key: &str, value: Option<&str>) {
    match value {
        Some(value) => set_value(table, key, value.into()),
        None => {
            table.remove(key);
        }
    }
}

/// A list of paths as an array, reusing the entries of `old` that are still listed (their comments, and
/// WOPI `{ id, access_token_env }` tables, survive).
fn path_array(old: Option<&Array>, paths: &[String]) -> Array {
    let key = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) => Some(s.value().clone()),
            Value::InlineTable(t) => t.get("id").and_then(Value::as_str).map(str::to_owned),
            _ => None,
        }
    };
    let mut array = Array::new();
    for path in paths {
        match old.and_then(|a| a.iter().find(|v| key(v).as_deref() == Some(path.as_str()))) {
            Some(existing) => array.push_formatted(existing.clone()),
            None => array.push(path.as_str()),
        }
    }
    if let Some(old) = old {
        array.set_trailing_comma(old.trailing_comma());
        array.set_trailing(old.trailing().as_str().unwrap_or_default());
    }
    array
}

/// Adds or changes server `entry.name` in config `text` ([`ServerEdit`]); returns the new text, or `None`
/// when nothing changes. The text may be empty (a first server). Like [`edit_wanted`], the result must
/// pass the strict parser; password variables are not checked here (any name resolves).
pub fn edit_server(text: &str, entry: &ServerEntry, edit: ServerEdit) -> Result<Option<String>> {
    let name = entry.name.trim();
    if name.is_empty() {
        return Err(config_error("a server needs a name".into()));
    }
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|err| config_error(format!("the config file is not valid TOML: {err}")))?;
    if doc.get("servers").is_none() {
        doc.insert(
            "servers",
            Item::ArrayOfTables(toml_edit::ArrayOfTables::new()),
        );
    }
    let servers = doc
        .get_mut("servers")
        .and_then(Item::as_array_of_tables_mut)
        .ok_or_else(|| {
            config_error("`servers` in the config file is not a list of [[servers]] tables".into())
        })?;
    let index = servers
        .iter()
        .position(|t| t.get("name").and_then(Item::as_str).map(str::trim) == Some(name));
    let table = match (edit, index) {
        (ServerEdit::Add, Some(_)) => {
            return Err(config_error(format!(
                "a server named \"{name}\" already exists; choose another name"
            )));
        }
        (ServerEdit::Change, None) => {
            return Err(config_error(format!(
                "no server named \"{name}\" in the config"
            )));
        }
        (ServerEdit::Add, None) => {
            servers.push(toml_edit::Table::new());
            let last = servers.len() - 1;
            let table = servers
                .get_mut(last)
                .ok_or_else(|| config_error("cannot add the server".into()))?;
            set_value(table, "name", name.into());
            table
        }
        (ServerEdit::Change, Some(index)) => servers
            .get_mut(index)
            .ok_or_else(|| config_error("cannot change the server".into()))?,
    };
    // `auto` is the default: a new entry leaves it out, an existing `kind` line is updated.
    if entry.kind != KindSetting::Auto || table.contains_key("kind") {
        set_value(table, "kind", kind_text(entry.kind).into());
    }
    set_value(table, "url", entry.url.trim().into());
    set_optional(table, "username", entry.username.as_deref());
    set_optional(table, "password_env", entry.password_env.as_deref());
    let clean = |paths: &[String]| -> Vec<String> {
        paths
            .iter()
            .map(|p| p.trim().trim_start_matches('/').to_owned())
            .filter(|p| !p.is_empty())
            .collect()
    };
    // `auto_lock` files are wanted too (the parser adds them): one no longer wanted leaves `auto_lock`, as
    // with `unwant`, and the others are not repeated under `wanted`.
    let wanted = clean(&entry.wanted);
    if let Some(auto) = table.get_mut("auto_lock").and_then(Item::as_array_mut) {
        auto.retain(|v| {
            v.as_str()
                .is_some_and(|p| wanted.iter().any(|w| w == p.trim_start_matches('/')))
        });
    }
    let auto: Vec<String> = table
        .get("auto_lock")
        .and_then(Item::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str())
                .map(|p| p.trim_start_matches('/').to_owned())
                .collect()
        })
        .unwrap_or_default();
    let wanted: Vec<String> = wanted.into_iter().filter(|w| !auto.contains(w)).collect();
    for (key, paths) in [("watch", clean(&entry.watch)), ("wanted", wanted)] {
        let old = table.get(key).and_then(Item::as_array);
        let unchanged = match old {
            Some(old) => {
                old.len() == paths.len()
                    && old.iter().zip(&paths).all(|(v, p)| {
                        v.as_str() == Some(p.as_str())
                            || v.as_inline_table()
                                .and_then(|t| t.get("id"))
                                .and_then(Value::as_str)
                                == Some(p.as_str())
                    })
            }
            None => paths.is_empty(),
        };
        if unchanged {
            continue;
        }
        if paths.is_empty() {
            table.remove(key);
        } else {
            let array = path_array(old, &paths);
            set_value(table, key, Value::Array(array));
        }
    }
    let edited = doc.to_string();
    if edited == text {
        return Ok(None);
    }
    Config::parse(&edited, "edited config", &|_| Some(String::new()))?;
    Ok(Some(edited))
}

/// Removes server `name` from config `text`; returns the new text, or `None` when there is no such server.
pub fn edit_remove_server(text: &str, name: &str) -> Result<Option<String>> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|err| config_error(format!("the config file is not valid TOML: {err}")))?;
    let Some(servers) = doc
        .get_mut("servers")
        .and_then(Item::as_array_of_tables_mut)
    else {
        return Ok(None);
    };
    let Some(index) = servers
        .iter()
        .position(|t| t.get("name").and_then(Item::as_str).map(str::trim) == Some(name))
    else {
        return Ok(None);
    };
    servers.remove(index);
    let edited = doc.to_string();
    Config::parse(&edited, "edited config", &|_| Some(String::new()))?;
    Ok(Some(edited))
}

/// Reads the config file at `path`; a missing file reads as empty text.
pub fn read_text(path: &Path) -> Result<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(err) => Err(Error::io(format!("reading {}", path.display()), &err)),
    }
}

/// Adds or changes a server in the config file at `path` (created when missing; see [`edit_server`]) and
/// writes it atomically, keeping a `.bak`.
pub fn set_server(path: &Path, entry: &ServerEntry, edit: ServerEdit) -> Result<Outcome> {
    let text = read_text(path)?;
    match edit_server(&text, entry, edit)? {
        None => Ok(Outcome::Unchanged),
        Some(edited) => {
            write_atomic(path, edited.as_bytes())?;
            Ok(Outcome::Changed)
        }
    }
}

/// Removes server `name` from the config file at `path` (see [`edit_remove_server`]), atomically.
pub fn remove_server(path: &Path, name: &str) -> Result<Outcome> {
    let text = read_text(path)?;
    match edit_remove_server(&text, name)? {
        None => Ok(Outcome::Unchanged),
        Some(edited) => {
            write_atomic(path, edited.as_bytes())?;
            Ok(Outcome::Changed)
        }
    }
}

/// Notices edits of a config file made while a front end runs (`lockwatch want`, an editor), by the file's
/// modification time and length.
#[derive(Debug)]
pub struct EditWatch {
    path: PathBuf,
    seen: Option<(std::time::SystemTime, u64)>,
}

impl EditWatch {
    /// Watches `path`, taking what is there now as already seen.
    pub fn new(path: impl Into<PathBuf>) -> EditWatch {
        let path = path.into();
        let seen = EditWatch::stamp(&path);
        EditWatch { path, seen }
    }

    fn stamp(path: &Path) -> Option<(std::time::SystemTime, u64)> {
        let meta = std::fs::metadata(path).ok()?;
        Some((meta.modified().ok()?, meta.len()))
    }

    /// When the file changed since the last call: the config it holds now, or why it is invalid. `None`
    /// when nothing changed, or when the file is gone (perhaps mid-replacement: a new file is seen when it
    /// appears).
    pub fn changed(&mut self) -> Option<std::result::Result<Config, crate::config::ConfigError>> {
        let now = EditWatch::stamp(&self.path);
        if now == self.seen {
            return None;
        }
        self.seen = now;
        now?;
        Some(Config::load(&self.path))
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
    fn an_edit_watch_sees_each_edit_once_and_no_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, TEXT).unwrap();
        let mut edits = EditWatch::new(&path);
        assert!(edits.changed().is_none());
        std::fs::write(&path, format!("{TEXT}\n# more\n")).unwrap();
        assert!(edits.changed().unwrap().is_ok());
        assert!(edits.changed().is_none());
        std::fs::write(&path, "poll_interval_secs = \"often\"\n").unwrap();
        assert_eq!(edits.changed().unwrap().unwrap_err().line, Some(1));
        std::fs::remove_file(&path).unwrap();
        assert!(edits.changed().is_none());
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

    fn entry(name: &str) -> ServerEntry {
        ServerEntry {
            name: name.into(),
            kind: KindSetting::Auto,
            url: "https://files.example.org/dav/".into(),
            username: Some("ann".into()),
            password_env: None,
            watch: vec!["Shared/".into()],
            wanted: vec![],
        }
    }

    #[test]
    fn adding_a_server_appends_an_entry_and_keeps_the_rest() {
        let out = edit_server(TEXT, &entry("home"), ServerEdit::Add)
            .unwrap()
            .unwrap();
        assert!(out.starts_with(TEXT.trim_end()), "{out}");
        let config = Config::parse(&out, "t", &|_| None).unwrap();
        let home = config.server("home").unwrap();
        assert_eq!(home.kind, KindSetting::Auto);
        assert_eq!(home.username.as_deref(), Some("ann"));
        assert_eq!(home.watch, vec!["Shared/"]);
        assert!(!out.contains("kind"), "auto is the default: {out}");
        assert!(!out.contains("password"), "{out}");
    }

    #[test]
    fn a_first_server_goes_into_an_empty_file() {
        let out = edit_server("", &entry("home"), ServerEdit::Add)
            .unwrap()
            .unwrap();
        let config = Config::parse(&out, "t", &|_| None).unwrap();
        assert_eq!(config.servers.len(), 1);
        assert_eq!(config.servers[0].name, "home");
    }

    #[test]
    fn changing_a_server_edits_its_keys_in_place() {
        let mut team = entry("team");
        team.kind = KindSetting::Nextcloud;
        team.url = "https://cloud.example.com/remote.php/dav/files/ann/".into();
        team.username = Some("ann.k".into());
        team.password_env = Some("TEAM_PW".into());
        team.watch = vec!["Reports/".into(), "Plan.odt".into()];
        team.wanted = vec!["Budget.xlsx".into()];
        let out = edit_server(TEXT, &team, ServerEdit::Change)
            .unwrap()
            .unwrap();
        // The unchanged wanted list keeps its comment; the name line its trailing comment.
        assert!(out.contains("# Q3 numbers"), "{out}");
        assert!(
            out.contains("name = \"team\"   # the office cloud"),
            "{out}"
        );
        assert!(out.contains("# My servers"), "{out}");
        let config = Config::parse(&out, "t", &|_| Some("pw".into())).unwrap();
        let team = config.server("team").unwrap();
        assert_eq!(team.kind, KindSetting::Nextcloud);
        assert_eq!(team.username.as_deref(), Some("ann.k"));
        assert_eq!(team.watch, vec!["Reports/", "Plan.odt"]);
        assert_eq!(config.servers.len(), 2, "lab is still there");
        assert_eq!(
            edit_server(
                &out,
                &{
                    let mut same = entry("team");
                    same.kind = KindSetting::Nextcloud;
                    same.url = "https://cloud.example.com/remote.php/dav/files/ann/".into();
                    same.username = Some("ann.k".into());
                    same.password_env = Some("TEAM_PW".into());
                    same.watch = vec!["Reports/".into(), "Plan.odt".into()];
                    same.wanted = vec!["Budget.xlsx".into()];
                    same
                },
                ServerEdit::Change
            )
            .unwrap(),
            None,
            "saving the same settings changes nothing"
        );
    }

    #[test]
    fn keys_the_form_does_not_show_survive_an_edit() {
        let text = "[[servers]]\nname = \"office\"\nkind = \"wopi\"\nurl = \"https://wopi.example.com/wopi/\"\ntimeout_secs = 20\nwatch = [\"abc\", { id = \"def\", access_token_env = \"DEF_TOKEN\" }]\n\n[servers.ask]\nvia = [\"mail\"]\n";
        let mut office = entry("office");
        office.kind = KindSetting::Wopi;
        office.url = "https://wopi.example.com/wopi/".into();
        office.username = None;
        office.watch = vec!["def".into(), "ghi".into()];
        let out = edit_server(text, &office, ServerEdit::Change)
            .unwrap()
            .unwrap();
        assert!(out.contains("timeout_secs = 20"), "{out}");
        assert!(out.contains("access_token_env = \"DEF_TOKEN\""), "{out}");
        assert!(out.contains("via = [\"mail\"]"), "{out}");
        let config = Config::parse(&out, "t", &|_| Some("token".into())).unwrap();
        assert_eq!(config.servers[0].watch, vec!["def", "ghi"]);
    }

    #[test]
    fn server_edits_are_refused_with_reasons() {
        let err = edit_server(TEXT, &entry("team"), ServerEdit::Add)
            .unwrap_err()
            .to_string();
        assert!(err.contains("already exists"), "{err}");
        let err = edit_server(TEXT, &entry("nobody"), ServerEdit::Change)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no server named \"nobody\""), "{err}");
        let mut bad = entry("new");
        bad.url = "ftp://example.com/".into();
        assert!(edit_server(TEXT, &bad, ServerEdit::Add).is_err());
        let mut with_password = entry("new");
        with_password.url = "https://ann:secret@example.com/".into();
        let err = edit_server(TEXT, &with_password, ServerEdit::Add)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("secret"), "{err}");
        assert!(edit_server(TEXT, &entry(" "), ServerEdit::Add).is_err());
    }

    #[test]
    fn auto_lock_files_stay_wanted_once_and_leave_when_unwanted() {
        let text = "[[servers]]\nname = \"a\"\nurl = \"http://h/\"\nwanted = [\"A.odt\"]\nauto_lock = [\"B.odt\", \"C.odt\"]\n";
        let mut a = entry("a");
        a.url = "http://h/".into();
        a.username = None;
        a.watch = vec![];
        // The form shows every wanted file (auto-lock ones included); C.odt was removed there.
        a.wanted = vec!["A.odt".into(), "B.odt".into()];
        let out = edit_server(text, &a, ServerEdit::Change).unwrap().unwrap();
        let config = Config::parse(&out, "t", &|_| None).unwrap();
        assert_eq!(config.servers[0].auto_lock, vec!["B.odt"]);
        assert!(out.contains("wanted = [\"A.odt\"]"), "{out}");
        assert!(!out.contains("C.odt"), "{out}");
    }

    #[test]
    fn removing_a_server_leaves_the_others_untouched() {
        let out = edit_remove_server(TEXT, "team").unwrap().unwrap();
        assert!(out.contains("# My servers"), "{out}");
        assert!(!out.contains("office cloud"), "{out}");
        let config = Config::parse(&out, "t", &|_| None).unwrap();
        assert_eq!(config.servers.len(), 1);
        assert_eq!(config.servers[0].name, "lab");
        assert_eq!(edit_remove_server(TEXT, "nobody").unwrap(), None);
    }

    #[test]
    fn server_files_are_written_atomically_and_created_when_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("config.toml");
        assert_eq!(
            set_server(&path, &entry("home"), ServerEdit::Add).unwrap(),
            Outcome::Changed
        );
        assert!(Config::load(&path).is_ok());
        assert_eq!(
            set_server(&path, &entry("home"), ServerEdit::Change).unwrap(),
            Outcome::Unchanged
        );
        assert_eq!(remove_server(&path, "home").unwrap(), Outcome::Changed);
        assert_eq!(remove_server(&path, "home").unwrap(), Outcome::Unchanged);
        assert!(
            std::fs::read_to_string(sibling(&path, ".bak"))
                .unwrap()
                .contains("home")
        );
    }
}
