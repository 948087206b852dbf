//! No password leaves Lockwatch except in the `Authorization` header of the server it belongs to: not in
//! stdout, stderr, trace logs, errors or JSON, whichever way the servers fail.

use std::process::Stdio;

use base64::Engine;
use tokio::io::AsyncWriteExt;

use crate::support::hostile::{Case, HostileServer, Listener, Pki};
use crate::support::{DavServer, both, lockwatch, write_config};

/// A password no output could contain by chance.
const PASSWORD: &str = "Zq7-hunter2-S3cret!pw";

/// Every form the password could leak in: as is, in a Basic header, percent-encoded.
fn leaked_forms() -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    vec![
        PASSWORD.to_owned(),
        b64.encode(format!("alice:{PASSWORD}")),
        b64.encode(PASSWORD),
        PASSWORD.replace('!', "%21"),
        "hunter2".to_owned(),
    ]
}

fn assert_no_secret(out: &std::process::Output) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for form in leaked_forms() {
        assert!(
            !text.contains(&form),
            "the password leaked as {form:?}:\n{}",
            both(out)
        );
    }
}

/// Hostile servers failing in every way (and a healthy one), all with the same password.
struct Zoo {
    servers: Vec<(String, HostileServer)>,
    _elsewhere: Listener,
    _healthy: DavServer,
    config: String,
}

fn zoo(ca_path: &str) -> Zoo {
    let pki = Pki::new();
    let elsewhere = Listener::start();
    let plain = vec![
        ("malformed", Case::MalformedXml),
        ("truncated", Case::TruncatedXml),
        ("prefix", Case::UndeclaredPrefix),
        ("html", Case::HtmlPage),
        ("laughs", Case::BillionLaughs),
        (
            "xxe",
            Case::Xxe {
                target: format!("{}/xxe", elsewhere.url()),
            },
        ),
        ("silent", Case::Silent),
        ("reset", Case::Reset),
        ("reset-body", Case::ResetMidBody),
        (
            "401",
            Case::status(401, &[("WWW-Authenticate", "Basic realm=\"x\"")]),
        ),
        ("401-bare", Case::status(401, &[])),
        ("403", Case::status(403, &[])),
        ("404", Case::status(404, &[])),
        ("423", Case::status(423, &[])),
        ("500", Case::status(500, &[])),
        ("503", Case::status(503, &[])),
        (
            "redirect",
            Case::Redirect {
                location: format!("{}/x", elsewhere.url()),
            },
        ),
        ("loop", Case::RedirectLoop),
        (
            "names",
            Case::Names {
                name: "a\u{1b}[2Jb".into(),
                owner: "c\u{202E}d".into(),
            },
        ),
    ];
    let mut servers: Vec<(String, HostileServer)> = plain
        .into_iter()
        .map(|(name, case)| (name.to_owned(), HostileServer::start(case)))
        .collect();
    servers.push((
        "tls-self-signed".into(),
        HostileServer::start_tls(Case::status(404, &[]), &pki.self_signed),
    ));
    servers.push((
        "tls-expired".into(),
        HostileServer::start_tls(Case::status(404, &[]), &pki.expired),
    ));
    servers.push((
        "tls-ok".into(),
        HostileServer::start_tls(Case::status(401, &[]), &pki.good),
    ));
    std::fs::write(ca_path, &pki.ca_pem).unwrap();
    let healthy = DavServer::start();
    let mut config = String::new();
    for (name, server) in &servers {
        let ca = if name.starts_with("tls-") && name != "tls-self-signed" {
            format!("ca_file = \"{ca_path}\"\n")
        } else {
            String::new()
        };
        let watch = if name == "names" {
            "\"Evil/\""
        } else {
            "\"Budget.xlsx\""
        };
        config.push_str(&format!(
            "[[servers]]\nname = \"{name}\"\nkind = \"webdav\"\nurl = \"{}\"\nusername = \"alice\"\npassword_env = \"LW_PASSWORD\"\ntimeout_secs = 2\nwatch = [{watch}]\n{ca}\n",
            server.base_url()
        ));
    }
    config.push_str(&format!(
        "[[servers]]\nname = \"healthy\"\nkind = \"webdav\"\nurl = \"{}\"\nwatch = [\"/\"]\n",
        healthy.base_url()
    ));
    Zoo {
        servers,
        _elsewhere: elsewhere,
        _healthy: healthy,
        config,
    }
}

#[tokio::test]
async fn no_password_in_any_output_at_trace_level() {
    let home = tempfile::tempdir().unwrap();
    let ca = home.path().join("ca.pem");
    let zoo = zoo(ca.to_str().unwrap());
    let cfg = write_config(home.path(), &zoo.config);
    let cfg = cfg.to_str().unwrap();
    let env = [("LW_PASSWORD", PASSWORD), ("LOCKWATCH_LOG", "trace")];
    for args in [
        vec!["status", "--config", cfg],
        vec!["status", "--json", "--config", cfg],
    ] {
        let out = lockwatch(home.path(), &args, &env).await;
        assert_eq!(out.status.code(), Some(1), "{}", both(&out));
        // Trace logging is really on, and every failing server is in the output: the run was not vacuous.
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("TRACE"),
            "{}",
            both(&out)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        for (name, _) in &zoo.servers {
            assert!(stdout.contains(name.as_str()), "{name} missing:\n{stdout}");
        }
        assert_no_secret(&out);
    }
    // The credentials did travel where they belong: to the configured servers, in the header.
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("alice:{PASSWORD}"))
    );
    let (_, four01) = zoo.servers.iter().find(|(n, _)| n == "401").unwrap();
    assert_eq!(
        four01.requests()[0].authorization.as_deref(),
        Some(basic.as_str())
    );
}

#[tokio::test]
async fn a_keyring_that_is_unavailable_gives_a_readable_error_and_no_secret() {
    // No Secret Service runs here (no D-Bus session): the keyring path must fail in words, not hang or panic,
    // and the other server's password (from the environment) must not appear either.
    let home = tempfile::tempdir().unwrap();
    let hostile = HostileServer::start(Case::status(401, &[]));
    let other = HostileServer::start(Case::status(401, &[]));
    let cfg = write_config(
        home.path(),
        &format!(
            "[[servers]]\nname = \"vault\"\nkind = \"webdav\"\nurl = \"{}\"\nusername = \"alice\"\nwatch = [\"a.txt\"]\ntimeout_secs = 2\n\n[[servers]]\nname = \"env\"\nkind = \"webdav\"\nurl = \"{}\"\nusername = \"alice\"\npassword_env = \"LW_PASSWORD\"\nwatch = [\"a.txt\"]\ntimeout_secs = 2\n",
            hostile.base_url(),
            other.base_url()
        ),
    );
    let cfg = cfg.to_str().unwrap();
    let env = [("LW_PASSWORD", PASSWORD), ("LOCKWATCH_LOG", "trace")];
    let out = lockwatch(home.path(), &["status", "--json", "--config", cfg], &env).await;
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert_no_secret(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let vault = &json["servers"][0];
    assert_eq!(vault["name"], "vault");
    let message = vault["error"]["message"].as_str().unwrap();
    let kind = vault["error"]["kind"].as_str().unwrap();
    // Either the keyring failed (internal) or it answered that nothing is stored (unauthorized): both say
    // what to do instead.
    assert!(
        (kind == "internal" && message.contains("keyring") && message.contains("password_env"))
            || (kind == "unauthorized" && message.contains("lockwatch password set vault")),
        "{}",
        both(&out)
    );
    assert!(message.len() < 600, "{message}");
    // No request was sent without the password the user configured.
    assert!(hostile.requests().is_empty());
    assert_eq!(json["servers"][1]["error"]["kind"], "unauthorized");
}

#[tokio::test]
async fn storing_a_password_without_a_keyring_fails_without_echoing_it() {
    let home = tempfile::tempdir().unwrap();
    let cfg = write_config(
        home.path(),
        "[[servers]]\nname = \"team\"\nurl = \"http://127.0.0.1:9/\"\nusername = \"alice\"\n",
    );
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_lockwatch"))
        .args(["password", "set", "team", "--config", cfg.to_str().unwrap()])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("LOCKWATCH_LOG", "trace")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("`password set` hangs")
        .unwrap();
    assert_no_secret(&out);
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("keyring"), "{}", both(&out));
    }
}
