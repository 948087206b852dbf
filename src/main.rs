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
use lockwatch::config::{self, Config};
use lockwatch::demo::Demo;
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

#[tokio::main]
async fn main() -> ExitCode {
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
            let config = Config::parse(&demo.config_toml(), "demo", &|_| None)
                .map_err(|err| Usage(format!("the demo config is invalid: {err}")))?;
            (config, Some(demo))
        }
    };
    if let Some(unknown) = servers.iter().find(|name| config.server(name).is_none()) {
        let known: Vec<&str> = config.servers.iter().map(|s| s.name.as_str()).collect();
        return Err(Usage(format!(
            "no server named \"{unknown}\" in the config (configured: {})",
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        )));
    }
    let secrets: Arc<dyn SecretStore> = Arc::new(KeyringStore);
    let now = chrono::Utc::now();
    let report = status::collect(&config, &servers, secrets, now).await;
    let mut out = std::io::stdout().lock();
    let written = if json {
        serde_json::to_string_pretty(&report)
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
