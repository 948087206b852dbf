//! A server program run by the harness (Apache, WsgiDAV): started on a free port of 127.0.0.1 in a fresh
//! temp dir, in its own process group, and stopped with that group when dropped.
//!
//! [`ServerProcess::start`] holds what every such server needs: picking a port (and trying again when
//! another test took it before the server bound it), waiting until *this* process listens there (checked
//! through /proc, so another test's server on the same port is never mistaken for ours), logs for
//! assertion messages, and files under the served root that the server may write even when its workers
//! run as another user. The server modules ([`super::apache`], [`super::wsgidav`]) only write their
//! config and say how to launch the program.
//!
//! Does not: install anything (run `scripts/install-test-servers.sh`), or work outside Linux.
#![allow(dead_code)]

use std::fs;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(15);

/// A running server program; stopped (with its whole process group) and its temp dir removed on drop.
pub struct ServerProcess {
    dir: PathBuf,
    root: PathBuf,
    child: Child,
    port: u16,
}

impl ServerProcess {
    /// Starts the server `name` in `dir`, serving `root` at `/dav/`: `launch(port)` writes the config for
    /// `port` and returns the command. The port is free when picked but may be taken before the server
    /// binds it, so a start that fails with "Address already in use" is tried again on another port.
    /// `logs` are the files in `dir` worth showing when the start fails (the program's output is always
    /// in `stderr.log`).
    pub fn start(
        name: &str,
        dir: PathBuf,
        root: PathBuf,
        logs: &[&str],
        mut launch: impl FnMut(u16) -> Command,
    ) -> ServerProcess {
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = free_port();
            let mut child = spawn_logged(&mut launch(port), &dir);
            match wait_ready(&mut child, port) {
                Ok(()) => {
                    return ServerProcess {
                        dir,
                        root,
                        child,
                        port,
                    };
                }
                Err(why) => {
                    stop_group(&mut child);
                    last_error = format!("{why}\n{}", log_tail(&dir, logs));
                    if !last_error.contains("Address already in use") {
                        break;
                    }
                }
            }
        }
        let _ = fs::remove_dir_all(&dir);
        panic!("{name} did not start: {last_error}");
    }

    /// `http://127.0.0.1:PORT/dav/`
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/dav/", self.port)
    }

    /// `base_url() + rel`; `rel` must already be percent-encoded.
    pub fn url(&self, rel: &str) -> String {
        format!("{}{}", self.base_url(), rel.trim_start_matches('/'))
    }

    /// The served directory (what `/dav/` maps to).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's own folder (config, logs).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates `rel` (and parents) under [`Self::root`], writable by the server.
    pub fn create_dir(&self, rel: &str) -> PathBuf {
        create_dir_shared(&self.root, rel)
    }

    /// Writes `rel` under [`Self::root`] (creating parents), writable by the server.
    pub fn create_file(&self, rel: &str, body: &[u8]) -> PathBuf {
        create_file_shared(&self.root, rel, body)
    }

    /// The last lines of the named logs in the server's dir (for assertion messages).
    pub fn log_tail(&self, names: &[&str]) -> String {
        log_tail(&self.dir, names)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        stop_group(&mut self.child);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A fresh, unique directory under the system temp dir.
pub fn temp_dir(kind: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = base_temp_dir().join(format!(
            "lockwatch-{kind}-{}-{n}-{nanos}",
            std::process::id()
        ));
        match fs::create_dir(&dir) {
            Ok(()) => {
                // Apache's workers (www-data when we are root) must traverse it.
                let _ = fs::set_permissions(&dir, fs::Permissions::from_mode(0o755));
                return dir;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => panic!("cannot create temp dir {}: {e}", dir.display()),
        }
    }
}

/// `$TMPDIR`, unless we are root and it is not traversable by others (e.g. under /root): then
/// `/tmp`, since Apache's workers run as www-data.
fn base_temp_dir() -> PathBuf {
    let tmp = std::env::temp_dir();
    let traversable = tmp
        .ancestors()
        .all(|p| fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o001 != 0));
    if traversable || !is_root() {
        tmp
    } else {
        PathBuf::from("/tmp")
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// Spawns `cmd` in its own process group, stdout+stderr to `<dir>/stderr.log`, no stdin.
pub fn spawn_logged(cmd: &mut Command, dir: &Path) -> Child {
    let log = fs::File::create(dir.join("stderr.log")).expect("create stderr.log");
    let program = format!("{:?}", cmd.get_program());
    cmd.stdin(Stdio::null())
        .stdout(log.try_clone().expect("dup log"))
        .stderr(log)
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"))
}

/// Waits (bounded) until `child` itself listens on 127.0.0.1:`port` and the port accepts
/// connections. Checking the socket's owner (via /proc) proves it is *our* server, not another
/// test's that grabbed the same port first.
pub fn wait_ready(child: &mut Child, port: u16) -> Result<(), String> {
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("server exited during startup ({status})"));
        }
        if listens_on(child.id(), port)
            && TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "server did not listen on 127.0.0.1:{port} within {STARTUP_TIMEOUT:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether process `pid` holds a listening TCP socket on local port `port` (Linux /proc).
fn listens_on(pid: u32, port: u16) -> bool {
    let suffix = format!(":{port:04X}");
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        for line in fs::read_to_string(table)
            .unwrap_or_default()
            .lines()
            .skip(1)
        {
            let f: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st ... inode (index 9); st 0A = LISTEN
            if f.len() > 9 && f[1].ends_with(&suffix) && f[3] == "0A" {
                inodes.push(format!("socket:[{}]", f[9]));
            }
        }
    }
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        fs::read_link(fd.path()).is_ok_and(|l| inodes.iter().any(|i| l.as_os_str() == i.as_str()))
    })
}

/// SIGTERM to the child's process group, up to 5 s grace, then SIGKILL; reaps the child.
pub fn stop_group(child: &mut Child) {
    if let Ok(Some(_)) = child.try_wait() {
        signal_group(child.id(), "KILL"); // leftovers of an exited leader, if any
        return;
    }
    signal_group(child.id(), "TERM");
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    signal_group(child.id(), "KILL");
    let _ = child.kill();
    let _ = child.wait();
}

fn signal_group(pgid: u32, signal: &str) {
    // std has no killpg; the shell's builtin `kill` does (no external procps needed).
    let _ = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("kill -s {signal} -- -{pgid} 2>/dev/null"))
        .stdin(Stdio::null())
        .status();
}

/// The last ~40 lines of each named log in `dir`, labelled.
pub fn log_tail(dir: &Path, names: &[&str]) -> String {
    let mut out = String::new();
    for name in names {
        let mut text = String::new();
        if let Ok(mut f) = fs::File::open(dir.join(name)) {
            let _ = f.read_to_string(&mut text);
        }
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..].join("\n");
        out += &format!(
            "--- {} (last {} lines) ---\n{tail}\n",
            dir.join(name).display(),
            lines.len().min(40)
        );
    }
    out
}

/// Creates `rel` (and parents) under `root`, writable by a server whose workers run as another user.
pub fn create_dir_shared(root: &Path, rel: &str) -> PathBuf {
    let path = root.join(rel.trim_start_matches('/'));
    fs::create_dir_all(&path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    let mut p = path.as_path();
    while p != root {
        make_world_writable(p);
        p = p.parent().expect("path under root");
    }
    path
}

/// Writes `rel` under `root` (creating parents), writable by a server whose workers run as another user.
pub fn create_file_shared(root: &Path, rel: &str, body: &[u8]) -> PathBuf {
    let path = root.join(rel.trim_start_matches('/'));
    if let Some(parent) = path.parent().filter(|p| *p != root) {
        create_dir_shared(
            root,
            parent
                .strip_prefix(root)
                .expect("under root")
                .to_str()
                .expect("utf-8"),
        );
    }
    fs::write(&path, body).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    let _ = fs::set_permissions(&path, fs::Permissions::from_mode(0o666));
    path
}

pub fn make_world_writable(path: &Path) {
    let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o777));
}

pub fn is_root() -> bool {
    // Effective uid from /proc (std has no geteuid).
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}
