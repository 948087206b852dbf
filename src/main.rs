//! `lockwatch`: the command line over the Lockwatch engine.
//!
//! Exit codes are part of the contract: 0 when every server answered, 1 when any server or file is in
//! error (the output is still complete), 2 for usage and configuration errors.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use lockwatch::actions::{self, Action};
use lockwatch::ask::AskRequest;
use lockwatch::config::{self, Config};
use lockwatch::demo::Demo;
use lockwatch::held::HeldLocks;
use lockwatch::history::History;
use lockwatch::model::AskChannel;
use lockwatch::protocol::{DEFAULT_LOCK_TIMEOUT, Server};
use lockwatch::secrets::{KeyringStore, Secret, SecretStore};
use lockwatch::{report, status};

mod watching;

/// Watch file locks on WebDAV and Nextcloud servers: who has the file, until when, and when it is free.
#[derive(Parser)]
#[command(name = "lockwatch", version, about, max_term_width = 100)]
struct Cli {
    /// Config file [default: $XDG_CONFIG_HOME/lockwatch/config.toml]
    #[arg(long, global = true, env = "LOCKWATCH_CONFIG", value_name = "PATH")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show the lock state of every watched file (without a config file: of the built-in demo)
    Status {
        /// Print one JSON object instead of a table
        #[arg(long)]
        json: bool,
        /// Only these servers (names from the config)
        #[arg(value_name = "SERVER")]
        servers: Vec<String>,
    },
    /// Serve the built-in demo WebDAV server and print a config that watches it
    Demo {
        /// Port on 127.0.0.1 (0 picks a free one)
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Seconds between two moves of the simulated colleagues (0: they keep their locks)
        #[arg(long, default_value_t = 8, value_name = "SECS")]
        every: u64,
    },
    /// Store or remove a server's password in the OS keyring
    Password {
        #[command(subcommand)]
        action: PasswordAction,
    },
    /// Take a lock on a file (exclusive unless --shared)
    Lock {
        /// Server name from the config
        server: String,
        /// File path relative to the server URL
        path: String,
        /// Take a shared lock (where the server offers shared locks)
        #[arg(long)]
        shared: bool,
        /// Lock timeout in seconds [default: 1800]
        #[arg(long, value_name = "SECS")]
        timeout: Option<u64>,
        /// Print the file entry with an `outcome` as JSON
        #[arg(long)]
        json: bool,
    },
    /// Extend a lock taken with Lockwatch
    Refresh {
        /// Server name from the config
        server: String,
        /// File path relative to the server URL
        path: String,
        /// New lock timeout in seconds [default: 1800]
        #[arg(long, value_name = "SECS")]
        timeout: Option<u64>,
        /// Print the file entry with an `outcome` as JSON
        #[arg(long)]
        json: bool,
    },
    /// Release a lock taken with Lockwatch, or with --force someone else's
    Unlock {
        /// Server name from the config
        server: String,
        /// File path relative to the server URL
        path: String,
        /// Release other users' locks (they may lose unsaved work)
        #[arg(long)]
        force: bool,
        /// Do not ask for confirmation (required with --force when not on a terminal)
        #[arg(long, requires = "force")]
        yes: bool,
        /// Print the file entry with an `outcome` as JSON
        #[arg(long)]
        json: bool,
    },
    /// Ask the holder of a file's lock to release it (Talk, comment, e-mail or webhook)
    Ask {
        /// Server name from the config
        server: String,
        /// File path relative to the server URL (WOPI: the file id)
        path: String,
        /// The channel to use [default: the first one that can reach the holder]
        #[arg(long, value_parser = parse_channel, value_name = "talk|comment|mail|webhook")]
        via: Option<AskChannel>,
        /// The message instead of the configured template
        #[arg(long, value_name = "TEXT")]
        message: Option<String>,
        /// Print the outcome as JSON
        #[arg(long)]
        json: bool,
    },
    /// Show what each server supports: protocol, lock scopes, visible tokens, force-unlock
    Servers {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
        /// Only these servers (names from the config)
        #[arg(value_name = "SERVER")]
        servers: Vec<String>,
    },
    /// Watch every server in the foreground: one line per lock event, a desktop notification when a
    /// wanted file is free (Ctrl-C stops)
    Watch {
        /// Print one JSON object per line instead of text
        #[arg(long)]
        json: bool,
    },
    /// Show who held which file, from when to when (recorded by `lockwatch watch`)
    History {
        /// Only this server
        #[arg(value_name = "SERVER")]
        server: Option<String>,
        /// Only this file (path as in the config)
        #[arg(value_name = "PATH", requires = "server")]
        path: Option<String>,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Add a file to a server's `wanted` list (you are told when it is free)
    Want {
        /// Server name from the config
        server: String,
        /// File path relative to the server URL
        path: String,
    },
    /// Remove a file from a server's `wanted` list
    Unwant {
        /// Server name from the config
        server: String,
        /// File path relative to the server URL
        path: String,
    },
}

#[derive(Subcommand)]
enum PasswordAction {
    /// Store the password for SERVER (asked on the terminal, or read from standard input)
    Set {
        /// Server name from the config
        server: String,
    },
    /// Remove the stored password for SERVER
    Delete {
        /// Server name from the config
        server: String,
    },
}

/// A usage or configuration error: printed as is, exit code 2.
struct Usage(String);

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    lockwatch::memory::release_freed_memory_promptly();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LOCKWATCH_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Status { json, servers } => run_status(cli.config, json, servers).await,
        Command::Demo { port, every } => run_demo(port, every).await,
        Command::Password { action } => run_password(cli.config, action).await,
        Command::Lock {
            server,
            path,
            shared,
            timeout,
            json,
        } => {
            let timeout = timeout.map_or(DEFAULT_LOCK_TIMEOUT, Duration::from_secs);
            run_action(
                cli.config,
                &server,
                &path,
                Action::Lock { shared, timeout },
                json,
                false,
            )
            .await
        }
        Command::Refresh {
            server,
            path,
            timeout,
            json,
        } => {
            let timeout = timeout.map_or(DEFAULT_LOCK_TIMEOUT, Duration::from_secs);
            run_action(
                cli.config,
                &server,
                &path,
                Action::Refresh { timeout },
                json,
                false,
            )
            .await
        }
        Command::Unlock {
            server,
            path,
            force,
            yes,
            json,
        } => {
            let action = if force {
                Action::ForceUnlock
            } else {
                Action::Unlock
            };
            run_action(cli.config, &server, &path, action, json, yes).await
        }
        Command::Servers { json, servers } => run_servers(cli.config, json, servers).await,
        Command::Ask {
            server,
            path,
            via,
            message,
            json,
        } => run_ask(cli.config, &server, &path, via, message, json).await,
        Command::Watch { json } => watching::run_watch(cli.config, json).await,
        Command::History { server, path, json } => watching::run_history(server, path, json),
        Command::Want { server, path } => watching::run_want(cli.config, &server, &path, true),
        Command::Unwant { server, path } => watching::run_want(cli.config, &server, &path, false),
    };
    match result {
        Ok(code) => code,
        Err(Usage(message)) => {
            eprintln!("lockwatch: {message}");
            ExitCode::from(2)
        }
    }
}

/// Where the config comes from, after `--config`, `LOCKWATCH_CONFIG` and the default path.
enum ConfigSource {
    File(Config),
    /// No file at the default path: nothing configured yet.
    Missing(PathBuf),
}

fn load_config(explicit: Option<PathBuf>) -> Result<ConfigSource, Usage> {
    let path = match explicit {
        Some(path) => path,
        None => {
            let Some(path) = config::default_path() else {
                return Err(Usage(
                    "cannot find the user's config directory; pass --config PATH".into(),
                ));
            };
            if !path.exists() {
                return Ok(ConfigSource::Missing(path));
            }
            path
        }
    };
    Config::load(&path)
        .map(ConfigSource::File)
        .map_err(|err| Usage(err.to_string()))
}

async fn run_status(
    config_path: Option<PathBuf>,
    json: bool,
    servers: Vec<String>,
) -> Result<ExitCode, Usage> {
    let (config, _demo) = match load_config(config_path)? {
        ConfigSource::File(config) => (config, None),
        ConfigSource::Missing(path) => {
            let demo = Demo::start(SocketAddr::from(([127, 0, 0, 1], 0)))
                .await
                .map_err(|err| Usage(format!("cannot start the built-in demo: {err}")))?;
            eprintln!(
                "No config file at {}: showing the built-in demo server.\n\
                 Create that file to watch your own servers (see the README), or run `lockwatch demo`.\n",
                path.display()
            );
            let config = demo
                .config()
                .map_err(|err| Usage(format!("the demo config is invalid: {err}")))?;
            (config, Some(demo))
        }
    };
    if let Some(unknown) = servers.iter().find(|name| config.server(name).is_none()) {
        return Err(unknown_server(&config, unknown));
    }
    let secrets: Arc<dyn SecretStore> = Arc::new(KeyringStore);
    let now = chrono::Utc::now();
    let mut report = status::collect(&config, &servers, secrets, now).await;
    if _demo.is_none() {
        // Mark the locks taken here and forget those that are gone; a damaged store is worth a warning,
        // not a failed status.
        if let Err(err) = HeldLocks::in_data_dir().and_then(|held| held.reconcile(&mut report)) {
            eprintln!("lockwatch: {err}");
        }
    }
    let mut out = std::io::stdout().lock();
    let written = if json {
        to_json(&report)
            .map_err(std::io::Error::other)
            .and_then(|text| writeln!(out, "{text}"))
    } else if config.servers.is_empty() {
        writeln!(
            out,
            "No servers configured. Add a [[servers]] entry to the config file (see the README)."
        )
    } else {
        write!(out, "{}", report::render(&report, now, terminal_width()))
    };
    if let Err(err) = written
        && err.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("lockwatch: cannot write the output: {err}");
        return Ok(ExitCode::FAILURE);
    }
    Ok(if report.has_errors() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The usage error for a server name that is not in the config.
fn unknown_server(config: &Config, name: &str) -> Usage {
    let known: Vec<&str> = config.servers.iter().map(|s| s.name.as_str()).collect();
    Usage(format!(
        "no server named \"{name}\" in the config (configured: {})",
        if known.is_empty() {
            "none".to_owned()
        } else {
            known.join(", ")
        }
    ))
}

/// JSON for the terminal or a script: server-supplied text stays exact, but characters that could rewrite
/// a terminal (bidi overrides, C1 controls) are written as `\u` escapes.
fn to_json(value: &impl serde::Serialize) -> serde_json::Result<String> {
    serde_json::to_string_pretty(value).map(|text| lockwatch::display::escape_json_text(&text))
}

fn terminal_width() -> u16 {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .or_else(|| terminal_size::terminal_size().map(|(w, _)| w.0))
        .unwrap_or(120)
        .max(40)
}

async fn run_demo(port: u16, every: u64) -> Result<ExitCode, Usage> {
    let mut demo = Demo::start(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .map_err(|err| Usage(format!("cannot start the demo: {err}")))?;
    if every > 0 {
        demo.simulate_colleagues(Duration::from_secs(every));
    }
    eprintln!(
        "Demo WebDAV server running at {} (Ctrl-C stops it). A config that watches it:\n",
        demo.url()
    );
    println!("{}", demo.config_toml());
    let _ = std::io::stdout().flush();
    tokio::signal::ctrl_c()
        .await
        .map_err(|err| Usage(format!("cannot wait for Ctrl-C: {err}")))?;
    Ok(ExitCode::SUCCESS)
}

async fn run_password(
    config_path: Option<PathBuf>,
    action: PasswordAction,
) -> Result<ExitCode, Usage> {
    let config = match load_config(config_path)? {
        ConfigSource::File(config) => config,
        ConfigSource::Missing(path) => {
            return Err(Usage(format!(
                "no config file at {}; add the server there first",
                path.display()
            )));
        }
    };
    let name = match &action {
        PasswordAction::Set { server } | PasswordAction::Delete { server } => server.clone(),
    };
    let Some(server) = config.server(&name) else {
        return Err(Usage(format!("no server named \"{name}\" in the config")));
    };
    let store = KeyringStore;
    let result = match action {
        PasswordAction::Set { .. } => {
            let prompt = format!(
                "Password for {} (user {}): ",
                server.name,
                server.username.as_deref().unwrap_or("?")
            );
            let password = if std::io::stdin().is_terminal() {
                rpassword::prompt_password(prompt)
            } else {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .map(|_| line.trim_end_matches(['\r', '\n']).to_owned())
            }
            .map_err(|err| Usage(format!("cannot read the password: {err}")))?;
            if password.is_empty() {
                return Err(Usage("the password is empty; nothing stored".into()));
            }
            tokio::task::spawn_blocking(move || store.set(&name, &Secret::new(password)))
                .await
                .map_err(|err| Usage(err.to_string()))?
        }
        PasswordAction::Delete { .. } => tokio::task::spawn_blocking(move || store.delete(&name))
            .await
            .map_err(|err| Usage(err.to_string()))?,
    };
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(err) => {
            eprintln!("lockwatch: {err}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Loads the config and connects to the named server for an action. The inner error is the server's
/// (exit code 1), the outer one a usage error (exit code 2).
async fn connect(
    config_path: Option<PathBuf>,
    name: &str,
) -> Result<Result<(Config, Server), String>, Usage> {
    let config = match load_config(config_path)? {
        ConfigSource::File(config) => config,
        ConfigSource::Missing(path) => {
            return Err(Usage(format!(
                "no config file at {}; add the server there first (see the README)",
                path.display()
            )));
        }
    };
    let Some(server) = config.server(name).cloned() else {
        return Err(unknown_server(&config, name));
    };
    let secrets: Arc<dyn SecretStore> = Arc::new(KeyringStore);
    Ok(Server::connect(server, secrets)
        .await
        .map(|server| (config, server))
        .map_err(|err| format!("{name}: {err}")))
}

async fn run_action(
    config_path: Option<PathBuf>,
    name: &str,
    path: &str,
    action: Action,
    json: bool,
    yes: bool,
) -> Result<ExitCode, Usage> {
    let path = path.trim_start_matches('/');
    if path.is_empty() || path.ends_with('/') {
        return Err(Usage(format!(
            "\"{path}\" is not a file path; locks are taken on files"
        )));
    }
    let (config, server) = match connect(config_path, name).await? {
        Ok(connected) => connected,
        Err(message) => {
            eprintln!("lockwatch: {message}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let held = HeldLocks::in_data_dir().map_err(|err| Usage(err.to_string()))?;
    if action == Action::ForceUnlock {
        let file = actions::read_file(&server, path, chrono::Utc::now()).await;
        if file.locks.iter().any(|l| !l.mine) {
            eprintln!("Warning: {}", actions::force_unlock_warning(&file));
            if !yes {
                if !std::io::stdin().is_terminal() {
                    return Err(Usage(
                        "refusing to release another user's lock without confirmation: add --yes"
                            .into(),
                    ));
                }
                eprint!("Release it? [y/N] ");
                let mut answer = String::new();
                let _ = std::io::stdin().read_line(&mut answer);
                if !matches!(answer.trim(), "y" | "Y" | "yes" | "Yes") {
                    eprintln!("Nothing was changed.");
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
    }
    let owner = actions::lock_owner(config.owner.as_deref(), &server);
    let report = actions::perform(&server, &held, &owner, path, action).await;
    if json {
        match to_json(&report) {
            Ok(text) => println!("{text}"),
            Err(err) => eprintln!("lockwatch: cannot encode the result: {err}"),
        }
    } else if report.outcome.ok {
        println!("{}", lockwatch::display::safe(&report.outcome.message, 600));
    } else {
        eprintln!(
            "lockwatch: {}",
            lockwatch::display::safe(&report.outcome.message, 600)
        );
    }
    Ok(if report.outcome.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn run_servers(
    config_path: Option<PathBuf>,
    json: bool,
    only: Vec<String>,
) -> Result<ExitCode, Usage> {
    let config = match load_config(config_path)? {
        ConfigSource::File(config) => config,
        ConfigSource::Missing(path) => {
            return Err(Usage(format!("no config file at {}", path.display())));
        }
    };
    if let Some(unknown) = only.iter().find(|name| config.server(name).is_none()) {
        return Err(Usage(format!(
            "no server named \"{unknown}\" in the config"
        )));
    }
    let secrets: Arc<dyn SecretStore> = Arc::new(KeyringStore);
    let selected: Vec<_> = config
        .servers
        .iter()
        .filter(|s| only.is_empty() || only.contains(&s.name))
        .cloned()
        .collect();
    let results = futures_util::future::join_all(selected.into_iter().map(|cfg| {
        let secrets = secrets.clone();
        async move {
            let name = cfg.name.clone();
            let result = match Server::connect(cfg, secrets).await {
                Ok(server) => actions::capabilities(&server).await,
                Err(err) => Err(err),
            };
            (
                name.clone(),
                result.map_err(|err| lockwatch::ErrorInfo::for_server(&name, &err)),
            )
        }
    }))
    .await;
    let failed = results.iter().any(|(_, r)| r.is_err());
    if json {
        let list: Vec<serde_json::Value> = results
            .iter()
            .map(|(name, result)| match result {
                Ok(caps) => serde_json::json!({"name": name, "ok": true, "capabilities": caps, "error": null}),
                Err(err) => serde_json::json!({"name": name, "ok": false, "capabilities": null, "error": err}),
            })
            .collect();
        match to_json(&list) {
            Ok(text) => println!("{text}"),
            Err(err) => eprintln!("lockwatch: cannot encode the result: {err}"),
        }
    } else {
        print!(
            "{}",
            report::render_capabilities(&results, terminal_width())
        );
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn parse_channel(text: &str) -> Result<AskChannel, String> {
    AskChannel::ALL
        .into_iter()
        .find(|c| c.as_str() == text)
        .ok_or_else(|| format!("\"{text}\" is not one of talk, comment, mail, webhook"))
}

async fn run_ask(
    config_path: Option<PathBuf>,
    name: &str,
    path: &str,
    via: Option<AskChannel>,
    message: Option<String>,
    json: bool,
) -> Result<ExitCode, Usage> {
    let path = path.trim_start_matches('/');
    let (config, server) = match connect(config_path, name).await? {
        Ok(connected) => connected,
        Err(message) => {
            eprintln!("lockwatch: {message}");
            return Ok(ExitCode::FAILURE);
        }
    };
    // The history holds every request: the rate limit reads it, `lockwatch history` shows it.
    let history = History::for_config(&config, chrono::Utc::now())
        .map_err(|err| Usage(format!("cannot record the request: {err}")))?;
    let requester = lockwatch::ask::requester(config.owner.as_deref(), &server);
    let request = AskRequest {
        path,
        via,
        message: message.as_deref(),
        requester: &requester,
    };
    let outcome =
        lockwatch::ask::ask(&server, &config, &history, request, chrono::Utc::now()).await;
    if json {
        match to_json(&outcome) {
            Ok(text) => println!("{text}"),
            Err(err) => eprintln!("lockwatch: cannot encode the result: {err}"),
        }
    } else if outcome.ok {
        println!("{}", lockwatch::display::safe(&outcome.message, 600));
        if let Some(link) = &outcome.mailto {
            println!("{link}");
        }
    } else {
        eprintln!(
            "lockwatch: {}",
            lockwatch::display::safe(&outcome.message, 600)
        );
    }
    // The mail client opens only for a person at a terminal, never for scripts.
    if let Some(link) = &outcome.mailto
        && std::io::stdout().is_terminal()
        && let Err(err) = open::that_detached(link)
    {
        eprintln!("lockwatch: cannot open the mail client ({err}); use the link above");
    }
    Ok(if outcome.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
