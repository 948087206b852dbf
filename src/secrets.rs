//! Passwords and tokens: a type that will not print itself, the stores they live in, and URL scrubbing.
//!
//! A [`Secret`] formats as `[redacted]` under both `Debug` and `Display`, so it cannot reach a log line or an
//! error by accident; code that really needs the value calls [`Secret::expose`]. Credentials live in the OS
//! keyring ([`KeyringStore`], one entry per server) or in an environment variable named by the config;
//! [`MemoryStore`] stands in for the keyring in tests. [`redact_url`] removes user info and `access_token`
//! query parameters from a URL before it is shown anywhere.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use url::Url;

use crate::error::{Error, Result};

/// The keyring service name under which Lockwatch stores server passwords.
pub const KEYRING_SERVICE: &str = "lockwatch";

/// A password or token. Prints as `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Where server passwords are kept, keyed by server name.
pub trait SecretStore: Send + Sync {
    /// The stored secret for `server`, or `None` when there is none.
    fn get(&self, server: &str) -> Result<Option<Secret>>;
    /// Stores (or replaces) the secret for `server`.
    fn set(&self, server: &str, secret: &Secret) -> Result<()>;
    /// Removes the secret for `server`; removing a missing entry is not an error.
    fn delete(&self, server: &str) -> Result<()>;
}

/// The OS keyring (Secret Service on Linux, Keychain on macOS, Credential Manager on Windows).
#[derive(Debug, Default, Clone, Copy)]
pub struct KeyringStore;

impl KeyringStore {
    fn entry(server: &str) -> Result<keyring::Entry> {
        keyring::Entry::new(KEYRING_SERVICE, server).map_err(keyring_error)
    }
}

fn keyring_error(err: keyring::Error) -> Error {
    // keyring errors never contain the secret itself; they describe the platform failure.
    Error::Keyring {
        detail: err.to_string(),
    }
}

impl SecretStore for KeyringStore {
    fn get(&self, server: &str) -> Result<Option<Secret>> {
        match KeyringStore::entry(server)?.get_password() {
            Ok(value) => Ok(Some(Secret::new(value))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(err) => Err(keyring_error(err)),
        }
    }

    fn set(&self, server: &str, secret: &Secret) -> Result<()> {
        KeyringStore::entry(server)?
            .set_password(secret.expose())
            .map_err(keyring_error)
    }

    fn delete(&self, server: &str) -> Result<()> {
        match KeyringStore::entry(server)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(err) => Err(keyring_error(err)),
        }
    }
}

/// An in-memory store, for tests and for runs that must not touch the OS keyring.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    entries: Arc<Mutex<HashMap<String, Secret>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Secret>> {
        // A panic while holding this lock cannot leave the map half-updated; keep using it.
        crate::sync::guard(&self.entries)
    }
}

impl SecretStore for MemoryStore {
    fn get(&self, server: &str) -> Result<Option<Secret>> {
        Ok(self.lock().get(server).cloned())
    }

    fn set(&self, server: &str, secret: &Secret) -> Result<()> {
        self.lock().insert(server.to_owned(), secret.clone());
        Ok(())
    }

    fn delete(&self, server: &str) -> Result<()> {
        self.lock().remove(server);
        Ok(())
    }
}

/// Query parameters whose values are secrets.
const SECRET_PARAMS: &[&str] = &["access_token", "token", "password", "access_token_ttl"];

/// `url` without user info and with secret query parameters replaced by `[redacted]`.
pub fn redact_url(url: &Url) -> String {
    let mut clean = url.clone();
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    if clean.query().is_some() {
        let pairs: Vec<(String, String)> = clean
            .query_pairs()
            .map(|(k, v)| {
                let secret = SECRET_PARAMS.iter().any(|p| k.eq_ignore_ascii_case(p));
                (
                    k.into_owned(),
                    if secret {
                        "[redacted]".to_owned()
                    } else {
                        v.into_owned()
                    },
                )
            })
            .collect();
        clean.query_pairs_mut().clear().extend_pairs(pairs);
    }
    clean.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_format_their_value() {
        let s = Secret::new("hunter2");
        assert_eq!(
            format!("{s} {s:?} {:?}", Some(&s)),
            "[redacted] [redacted] Some([redacted])"
        );
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn memory_store_round_trip() {
        let store = MemoryStore::new();
        assert_eq!(store.get("team").unwrap(), None);
        store.set("team", &Secret::new("pw")).unwrap();
        assert_eq!(store.get("team").unwrap().unwrap().expose(), "pw");
        store.delete("team").unwrap();
        store.delete("team").unwrap();
        assert_eq!(store.get("team").unwrap(), None);
    }

    #[test]
    fn urls_are_scrubbed_of_credentials_and_tokens() {
        let url =
            Url::parse("https://bob:pw@host/wopi/files/1?access_token=abc&x=1&ACCESS_TOKEN=def")
                .unwrap();
        let shown = redact_url(&url);
        assert!(
            !shown.contains("pw") && !shown.contains("abc") && !shown.contains("def"),
            "{shown}"
        );
        assert!(shown.contains("x=1"), "{shown}");
        assert!(shown.starts_with("https://host/"), "{shown}");
    }
}
