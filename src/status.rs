//! One consistent reading of every configured server: the engine behind `lockwatch status`.
//!
//! Servers are read concurrently and independently: a server that is down, slow or hostile yields an error
//! in its own [`ServerStatus`] (and in its files' entries) while every other server reports normally.
//! Nothing here retries or remembers; polling and change detection belong to the watch engine.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::config::{Config, ServerConfig};
use crate::error::ErrorInfo;
use crate::model::{FileEntry, ServerStatus, StatusReport};
use crate::protocol::{Server, resource_url};
use crate::secrets::{SecretStore, redact_url};

/// Reads the servers named in `only` (all when empty) and reports every watched file.
pub async fn collect(
    config: &Config,
    only: &[String],
    secrets: Arc<dyn SecretStore>,
    now: DateTime<Utc>,
) -> StatusReport {
    let selected: Vec<&ServerConfig> = config
        .servers
        .iter()
        .filter(|s| only.is_empty() || only.iter().any(|n| n == &s.name))
        .collect();
    let readings = futures_util::future::join_all(
        selected
            .iter()
            .map(|server| read_server((*server).clone(), secrets.clone(), now)),
    )
    .await;
    let mut report = StatusReport {
        servers: Vec::new(),
        files: Vec::new(),
    };
    for (status, files) in readings {
        report.servers.push(status);
        report.files.extend(files);
    }
    report
}

/// Reads one server; never fails: problems become the server's status and its files' errors.
pub async fn read_server(
    config: ServerConfig,
    secrets: Arc<dyn SecretStore>,
    now: DateTime<Utc>,
) -> (ServerStatus, Vec<FileEntry>) {
    let name = config.name.clone();
    let fixed_kind = config.kind.fixed();
    let failed = |err: &crate::Error, config: &ServerConfig| {
        let info = ErrorInfo::for_server(&name, err);
        let files = config
            .read_set()
            .iter()
            .map(|path| {
                let mut entry = FileEntry::failed(
                    &name,
                    path,
                    &redact_url(&resource_url(&config.url, path)),
                    info.clone(),
                );
                entry.wanted = config.is_wanted(path);
                entry
            })
            .collect();
        (
            ServerStatus {
                name: name.clone(),
                kind: fixed_kind,
                ok: false,
                error: Some(info),
            },
            files,
        )
    };
    let server = match Server::connect(config.clone(), secrets).await {
        Ok(server) => server,
        Err(err) => return failed(&err, &config),
    };
    match server.read(now).await {
        Ok((kind, files)) => (
            ServerStatus {
                name: name.clone(),
                kind: Some(kind),
                ok: true,
                error: None,
            },
            files,
        ),
        Err(err) => {
            tracing::info!(server = %name, error = %err, "server read failed");
            failed(&err, &config)
        }
    }
}
