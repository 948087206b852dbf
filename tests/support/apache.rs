//! A real Apache 2.4 (`mod_dav` + `mod_dav_fs`) for integration tests.
//!
//! [`Apache::start`] writes its own config into a fresh temp dir and runs
//! `/usr/sbin/apache2 -f CONF -DFOREGROUND` on `127.0.0.1:<free port>`, serving `<tmp>/htdocs/dav`
//! at `/dav/` with HTTP Basic auth for every user in `super::USERS` (all may read, write and lock).
//! Instances are independent (own ports, pid file, lock DB, logs), so tests may run in parallel.
//! `Drop` stops the whole process group and removes the temp dir ([`super::server_process`]).
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
use std::path::{Path, PathBuf};
use std::process::Command;

use super::server_process::{ServerProcess, is_root, make_world_writable, temp_dir};

const APACHE_BIN: &str = "/usr/sbin/apache2";
const MODULES_DIR: &str = "/usr/lib/apache2/modules";
const NOT_INSTALLED: &str = "Apache 2.4 is not installed: run scripts/install-test-servers.sh";

/// A running Apache instance; stopped and cleaned up on drop. The URL, root and file helpers are those of
/// its [`ServerProcess`].
pub struct Apache {
    process: ServerProcess,
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
        let conf = dir.join("apache2.conf");
        let process = ServerProcess::start(
            "Apache",
            dir.clone(),
            root,
            &["stderr.log", "error.log"],
            |port| {
                fs::write(&conf, config(&dir, port)).expect("write apache2.conf");
                let mut cmd = Command::new(APACHE_BIN);
                cmd.arg("-f").arg(&conf).arg("-DFOREGROUND");
                cmd
            },
        );
        Apache { process }
    }

    /// Apache's access log so far, one `host user "request line" status bytes` line per request.
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.process.dir().join("access.log")).unwrap_or_default()
    }

    /// The last lines of Apache's error log (for assertion messages).
    pub fn error_log(&self) -> String {
        self.process.log_tail(&["stderr.log", "error.log"])
    }
}

impl std::ops::Deref for Apache {
    type Target = ServerProcess;

    fn deref(&self) -> &ServerProcess {
        &self.process
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
