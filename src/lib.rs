//! Lockwatch's engine: who holds the file you need, until when, and the moment it is free.
//!
//! Lockwatch watches file locks on servers a team already uses — plain WebDAV (RFC 4918), Nextcloud with its
//! files_lock app, and (later) WOPI hosts — and reports them in one model ([`model`]): per watched file, its
//! state and every lock that applies, with the holder, editor, scope and expiry as well as the server can
//! tell. The same engine serves the `lockwatch` command line and the desktop app; it never depends on any UI
//! toolkit.
//!
//! The crate is organised around one trait, [`protocol::LockSource`]: each protocol module turns HTTP into
//! the model, with pure parsers ([`protocol::multistatus`]) unit-tested on responses recorded from real
//! servers. [`config`] is the stable TOML contract, [`secrets`] keeps passwords out of files, logs and
//! errors, [`http`] enforces time and size limits and refuses to carry credentials across origins, and
//! [`status`] reads every configured server concurrently so one dead server never hides the others.
//! [`demo`] runs a real in-memory WebDAV server with simulated colleagues for first-time users.
//! [`watch`] keeps polling, turns changes into events and announces wanted files as they free up;
//! [`history`] remembers who held what, and [`config_file`] edits the config without losing comments;
//! [`monitor`] runs all of it for a front end.
//!
//! Real servers deviate from the specifications in many small ways; the rule throughout is *parse
//! leniently, fail clearly*: unusual but meaningful answers are understood, and everything else becomes an
//! [`Error`] whose [`ErrorKind`] a front end can act on and whose message a person can.

pub mod actions;
pub mod ask;
pub mod config;
pub mod config_file;
pub mod demo;
pub mod display;
pub mod error;
pub mod held;
pub mod history;
pub mod http;
pub mod memory;
pub mod model;
pub mod monitor;
pub mod protocol;
pub mod report;
pub mod secrets;
pub mod status;
pub mod sync;
pub mod watch;

pub use error::{Error, ErrorInfo, ErrorKind, Result};
