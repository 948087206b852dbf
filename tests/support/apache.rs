//! A real Apache 2.4 (`mod_dav` + `mod_dav_fs`) for integration tests.
//!
//! [`Apache::start`] writes its own config into a fresh temp dir and runs
//! `/usr/sbin/apache2 -f CONF -DFOREGROUND` on `127.0.0.1:<free port>`, serving `<tmp>/htdocs/dav`
//! at `/dav/` with HTTP Basic auth for every user in `super::USERS` (all may read, write and lock).
//! Instances are independent (own ports, pid file, lock DB, logs), so tests may run in parallel.
//! `Drop` stops the whole process group and removes the temp dir.
//!
//! Does not: use the system apache2 service or its config, do TLS, or install anything
//! (run `scripts/install-test-servers.sh`). Std only, Linux/Debian paths.
//!
//! When the tests run as root, Apache's workers run as `www-data` (or `nobody`): everything the
//! server must write is made world-writable. The server can read anything you create under
//! [`Apache::root`] and can replace files in world-writable dirs, but a sub-dir made with plain
//! `fs::create_dir` (0755, root-owned) answers 500 to PUT/MKCOL inside it: use
//! [`Apache::create_dir`] / [`Apache::create_file`], or create content over WebDAV.
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

const APACHE_BIN: &str = "/usr/sbin/apache2";
const MODULES_DIR: &str = "/usr/lib/apache2/modules";
const NOT_INSTALLED: &str = "Apache 2.4 is not installed: run scripts/install-test-servers.sh";
const STARTUP_TIMEOUT: Duration = Duration::from_secs(15);

/// A running Apache instance; stopped and cleaned up on drop.
pub struct Apache {
    dir: PathBuf,
    root: PathBuf,
    child: Child,
    port: u16,
}

impl Apache {
    /// Apache 2.4 with mod_dav + mod_dav_fs on 127.0.0.1:<free port>, serving a fresh temp dir at
    /// `/dav/` with HTTP Basic auth for every user in `super::USERS`.
    pub fn start() -> Apache {
        let htpasswd = which("htpasswd").unwrap_or_else(|| panic!("{NOT_INSTALLED}"));
        if !Path::new(APACHE_BIN).exists() || !Path::new(MODULES_DIR).join("mod_dav_fs.so").exists()
        {
            panic!("{NOT_INSTALLED}");
        }
        let dir = temp_dir("apache");
        let root = dir.join("htdocs").join("dav");
        for d in ["htdocs", "htdocs/dav", "lock", "run"] {
            fs::create_dir_all(dir.join(d)).expect("create apache temp dirs");
        }
        for d in ["htdocs/dav", "lock"] {
            make_world_writable(&dir.join(d));
        }
        let passwd = dir.join("htpasswd");
        for (i, (user, pw)) in super::USERS.iter().enumerate() {
            let mut cmd = Command::new(&htpasswd);
            cmd.arg("-b");
            if i == 0 {
                cmd.arg("-c");
            }
            let out = cmd
                .arg(&passwd)
                .arg(user)
                .arg(pw)
                .output()
                .expect("run htpasswd");
            assert!(
                out.status.success(),
                "htpasswd failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }

        // The port is free when picked but may be taken before Apache binds it: retry a few times.
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = free_port();
            let conf = dir.join("apache2.conf");
            fs::write(&conf, config(&dir, port)).expect("write apache2.conf");
            let mut child = spawn_logged(
                Command::new(APACHE_BIN)
                    .arg("-f")
                    .arg(&conf)
                    .arg("-DFOREGROUND"),
                &dir,
            );
            match wait_ready(&mut child, port) {
                Ok(()) => {
                    return Apache {
                        dir,
                        root,
                        child,
                        port,
                    };
                }
                Err(why) => {
                    stop_group(&mut child);
                    last_error = format!("{why}\n{}", log_tail(&dir, &["stderr.log", "error.log"]));
                    if !last_error.contains("Address already in use") {
                        break;
                    }
                }
            }
        }
        let _ = fs::remove_dir_all(&dir);
        panic!("Apache did not start: {last_error}");
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

    /// The port Apache listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates `rel` (and parents) under [`Self::root`], writable by the server.
    pub fn create_dir(&self, rel: &str) -> PathBuf {
        create_dir_shared(&self.root, rel)
    }

    /// Writes `rel` under [`Self::root`] (creating parents), writable by the server.
    pub fn create_file(&self, rel: &str, body: &[u8]) -> PathBuf {
        create_file_shared(&self.root, rel, body)
    }

    /// Apache's access log so far, one `host user "request line" status bytes` line per request.
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default()
    }

    /// The last lines of Apache's error log (for assertion messages).
    pub fn error_log(&self) -> String {
        log_tail(&self.dir, &["stderr.log", "error.log"])
    }
}

impl Drop for Apache {
    fn drop(&mut self) {
        stop_group(&mut self.child);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn config(dir: &Path, port: u16) -> String {
    let d = dir.display();
    let modules = [
        ("mpm_event_module", "mod_mpm_event.so"),
        ("authn_core_module", "mod_authn_core.so"),
        ("authn_file_module", "mod_authn_file.so"),
        ("auth_basic_module", "mod_auth_basic.so"),
        ("authz_core_module", "mod_authz_core.so"),
        ("authz_user_module", "mod_authz_user.so"),
        ("mime_module", "mod_mime.so"),
        ("dav_module", "mod_dav.so"),
        ("dav_fs_module", "mod_dav_fs.so"),
    ];
    let mut c = String::new();
    for (name, file) in modules {
        c += &format!("LoadModule {name} {MODULES_DIR}/{file}\n");
    }
    if is_root() {
        let (user, group) = if has_entry("/etc/passwd", "www-data") {
            ("www-data", "www-data")
        } else {
            ("nobody", "nogroup")
        };
        c += &format!("User {user}\nGroup {group}\n");
    }
    let types = if Path::new("/etc/mime.types").exists() {
        "/etc/mime.types"
    } else {
        "/dev/null"
    };
    c += &format!(
        r#"ServerRoot "{d}"
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile "{d}/apache2.pid"
DefaultRuntimeDir "{d}/run"
ErrorLog "{d}/error.log"
LogLevel warn
LogFormat "%h %u \"%r\" %>s %b" short
CustomLog "{d}/access.log" short
ServerLimit 1
StartServers 1
ThreadsPerChild 16
MaxRequestWorkers 16
MinSpareThreads 1
MaxSpareThreads 32
Timeout 30
TypesConfig {types}
DavLockDB "{d}/lock/DavLock"
DocumentRoot "{d}/htdocs"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Location "/dav">
    DAV On
    AuthType Basic
    AuthName "lockwatch-test"
    AuthBasicProvider file
    AuthUserFile "{d}/htpasswd"
    Require valid-user
</Location>
"#
    );
    c
}

// ---- helpers shared with the other server harnesses (`super::wsgidav`) ----------------------------

/// A fresh, unique directory under the system temp dir.
pub(super) fn temp_dir(kind: &str) -> PathBuf {
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
pub(super) fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// Spawns `cmd` in its own process group, stdout+stderr to `<dir>/stderr.log`, no stdin.
pub(super) fn spawn_logged(cmd: &mut Command, dir: &Path) -> Child {
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
pub(super) fn wait_ready(child: &mut Child, port: u16) -> Result<(), String> {
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
pub(super) fn stop_group(child: &mut Child) {
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
pub(super) fn log_tail(dir: &Path, names: &[&str]) -> String {
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

pub(super) fn create_dir_shared(root: &Path, rel: &str) -> PathBuf {
    let path = root.join(rel.trim_start_matches('/'));
    fs::create_dir_all(&path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    let mut p = path.as_path();
    while p != root {
        make_world_writable(p);
        p = p.parent().expect("path under root");
    }
    path
}

pub(super) fn create_file_shared(root: &Path, rel: &str, body: &[u8]) -> PathBuf {
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

fn make_world_writable(path: &Path) {
    let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o777));
}

fn is_root() -> bool {
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

fn has_entry(file: &str, name: &str) -> bool {
    fs::read_to_string(file)
        .map(|s| s.lines().any(|l| l.split(':').next() == Some(name)))
        .unwrap_or(false)
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin".into(), "/usr/sbin".into()])
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}
