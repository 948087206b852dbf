//! Lockwatch's integration tests: one test binary (so servers and helpers are compiled once), with real
//! servers started on 127.0.0.1 by the tests themselves. Apache and WsgiDAV must be installed first:
//! `scripts/install-test-servers.sh` (the README's test command does it).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod actions;
mod ask;
mod cli;
mod data_safety;
mod emulator;
mod hostile;
mod memory;
mod monitor;
mod nextcloud;
mod push;
mod secrets;
mod support;
mod watch;
mod webdav;
mod wopi;
