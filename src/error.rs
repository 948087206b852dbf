//! One error type for the whole engine, with a small closed [`ErrorKind`] that front ends act on.
//!
//! Messages are written for the person reading them: what happened, and what to do next. The server name is
//! added by [`ErrorInfo::for_server`], so variants describe the problem only. Nothing here ever holds a
//! password or an access token: URLs are redacted (see [`crate::secrets::redact_url`]) before they are put
//! into an error, and HTTP library errors are reduced to their cause without their URL.

use serde::{Deserialize, Serialize};

use crate::config::ConfigError;

/// What kind of failure happened: the part of an error a UI may branch on (never on the message text).
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Wrong or missing credentials (HTTP 401).
    Unauthorized,
    /// The credentials are fine but access is denied (HTTP 403).
    Forbidden,
    /// The file or folder does not exist (HTTP 404).
    NotFound,
    /// The resource is locked (HTTP 423).
    Locked,
    /// The request conflicts with the resource's state (HTTP 409 / 412).
    Conflict,
    /// The server does not speak what is needed (not WebDAV, no locking, ...).
    Unsupported,
    /// The server could not be reached.
    Network,
    /// The server did not answer in time.
    Timeout,
    /// The TLS connection could not be established safely (certificate problems).
    Tls,
    /// The answer exceeded Lockwatch's size limit.
    TooLarge,
    /// The server answered something that could not be understood.
    Protocol,
    /// The server failed (HTTP 5xx).
    Server,
    /// The configuration is wrong.
    Config,
    /// A local failure (keyring, file system).
    Internal,
}

/// An error as it appears in reports and crosses to front ends: a kind and one readable sentence.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    /// What kind of failure it is.
    pub kind: ErrorKind,
    /// One sentence naming the server, the problem and the next step.
    pub message: String,
}

impl ErrorInfo {
    /// Describes `error` as it happened on server `server`.
    pub fn for_server(server: &str, error: &Error) -> ErrorInfo {
        ErrorInfo {
            kind: error.kind(),
            message: format!("{server}: {error}"),
        }
    }
}

impl std::fmt::Display for ErrorInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Everything that can go wrong in the engine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// HTTP 401.
    #[error("the server rejected the credentials{} (HTTP 401); check the user name and password", user_suffix(.user))]
    Unauthorized {
        /// The configured user name, if any.
        user: Option<String>,
    },
    /// HTTP 401 while no credentials were configured.
    #[error(
        "the server asks for a login (HTTP 401) but no user name is configured; add `username` to the server"
    )]
    LoginRequired,
    /// HTTP 403.
    #[error(
        "access to {what} is forbidden (HTTP 403); ask the server's administrator for permission"
    )]
    Forbidden {
        /// What was refused (a path or an action).
        what: String,
    },
    /// HTTP 404.
    #[error("{what} was not found (HTTP 404); check the watch entry and the server URL")]
    NotFound {
        /// The missing path.
        what: String,
    },
    /// HTTP 423 where a read was expected.
    #[error("{what} is locked{}", locked_suffix(.detail))]
    Locked {
        /// The locked path.
        what: String,
        /// Who holds it, when known.
        detail: String,
    },
    /// HTTP 409 / 412.
    #[error("{detail}")]
    Conflict {
        /// What conflicted.
        detail: String,
    },
    /// The host could not be reached at all.
    #[error(
        "cannot reach {host} ({detail}); check that the server is running and the URL is right"
    )]
    Unreachable {
        /// Host and port.
        host: String,
        /// The underlying cause.
        detail: String,
    },
    /// No complete answer in time.
    #[error("{host} did not answer within {secs} s; the server may be overloaded or down")]
    Timeout {
        /// Host and port.
        host: String,
        /// The configured time limit.
        secs: u64,
    },
    /// Certificate or handshake failure.
    #[error("the secure connection to {host} failed: {detail}")]
    Tls {
        /// Host and port.
        host: String,
        /// What is wrong with the connection or certificate, and what to do about it.
        detail: String,
    },
    /// The body exceeded the size limit.
    #[error(
        "the answer was larger than {limit_mb} MiB, Lockwatch's limit for one response; watch smaller folders"
    )]
    TooLarge {
        /// The limit in MiB.
        limit_mb: u64,
    },
    /// Too many large answers in memory at once, across all servers.
    #[error(
        "this answer was dropped: the answers being read from all servers together reached {budget_mb} MiB, Lockwatch's memory budget for them; it is read again at the next poll"
    )]
    OverBudget {
        /// The process-wide budget in MiB.
        budget_mb: u64,
    },
    /// The connection ended while the answer was being read.
    #[error(
        "the connection to {host} broke in the middle of the answer ({detail}); the server or the network dropped it, check that the server is running"
    )]
    ConnectionBroken {
        /// Host and port.
        host: String,
        /// How it ended.
        detail: String,
    },
    /// A redirect Lockwatch will not follow.
    #[error(
        "the server redirected to {to}; Lockwatch does not send your credentials elsewhere: use that URL in the config if it is right"
    )]
    Redirected {
        /// The (redacted) target.
        to: String,
    },
    /// Too many redirects.
    #[error("the server redirected too many times (a redirect loop?); check the URL")]
    RedirectLoop,
    /// An answer that could not be parsed.
    #[error("the server answered something Lockwatch cannot read ({detail})")]
    Malformed {
        /// What was wrong with it.
        detail: String,
    },
    /// The server does not speak what Lockwatch needs.
    #[error("{detail}")]
    Unsupported {
        /// What was found instead.
        detail: String,
    },
    /// Any other unexpected HTTP status.
    #[error("the server answered HTTP {status}{}", detail_suffix(.detail))]
    Status {
        /// The HTTP status code.
        status: u16,
        /// A short excerpt of the answer, when it says something.
        detail: String,
    },
    /// A password or token is needed and none is available.
    #[error("{detail}")]
    MissingSecret {
        /// Where it was looked for and how to provide it.
        detail: String,
    },
    /// The OS keyring failed.
    #[error(
        "the OS keyring failed ({detail}); use `password_env` in the config instead, or unlock the keyring"
    )]
    Keyring {
        /// The underlying cause.
        detail: String,
    },
    /// A configuration error.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A webhook did not accept an ask-to-release message.
    #[error("the webhook answered HTTP {status}{}; check its URL and the receiving app", detail_suffix(.detail))]
    WebhookRefused {
        /// The HTTP status code.
        status: u16,
        /// A short excerpt of the answer.
        detail: String,
    },
    /// A local I/O failure.
    #[error("{context}: {detail}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        detail: String,
    },
}

fn user_suffix(user: &Option<String>) -> String {
    match user {
        Some(user) => format!(" for user \"{user}\""),
        None => String::new(),
    }
}

fn locked_suffix(detail: &str) -> String {
    if detail.is_empty() {
        " (HTTP 423); wait for the lock to end or ask its holder".to_owned()
    } else {
        format!(" {detail}")
    }
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

impl Error {
    /// The kind of the error, for front ends to act on.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Unauthorized { .. } | Error::LoginRequired => ErrorKind::Unauthorized,
            Error::MissingSecret { .. } => ErrorKind::Unauthorized,
            Error::Forbidden { .. } => ErrorKind::Forbidden,
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::Locked { .. } => ErrorKind::Locked,
            Error::Conflict { .. } => ErrorKind::Conflict,
            Error::Unreachable { .. } | Error::ConnectionBroken { .. } => ErrorKind::Network,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Tls { .. } => ErrorKind::Tls,
            Error::TooLarge { .. } | Error::OverBudget { .. } => ErrorKind::TooLarge,
            Error::Redirected { .. } | Error::RedirectLoop | Error::Malformed { .. } => {
                ErrorKind::Protocol
            }
            Error::Unsupported { .. } => ErrorKind::Unsupported,
            Error::Status { status, .. } | Error::WebhookRefused { status, .. }
                if *status >= 500 =>
            {
                ErrorKind::Server
            }
            Error::WebhookRefused { .. } => ErrorKind::Protocol,
            Error::Status { .. } => ErrorKind::Protocol,
            Error::Config(_) => ErrorKind::Config,
            Error::Keyring { .. } | Error::Io { .. } => ErrorKind::Internal,
        }
    }

    /// True when the error concerns the whole server rather than one file: every other request to the
    /// same server would fail the same way, so the server is reported in error.
    pub fn is_server_wide(&self) -> bool {
        matches!(
            self.kind(),
            ErrorKind::Unauthorized
                | ErrorKind::Network
                | ErrorKind::Timeout
                | ErrorKind::Tls
                | ErrorKind::Unsupported
                | ErrorKind::Config
                | ErrorKind::Internal
        ) || matches!(self, Error::Redirected { .. } | Error::RedirectLoop)
    }

    /// A local I/O error with context.
    pub fn io(context: impl Into<String>, err: &std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            detail: err.to_string(),
        }
    }
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
