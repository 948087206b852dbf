//! The `lockwatch` command line as scripts and people use it: the JSON contract, the table, exit codes,
//! configuration errors, the demo, and that no password ever reaches the output.

use std::process::Stdio;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use url::Url;

use crate::support::davops::{self, LockSpec};
use crate::support::{
    ALICE, BOB, DavServer, apache::Apache, both, dead_port, lockwatch, write_config,
};

fn url(base: &str, path: &str) -> String {
    lockwatch::protocol::resource_url(&Url::parse(base).unwrap(), path).to_string()
}

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn status_json_follows_the_contract() {
    let server = DavServer::start();
    let base = server.base_url();
    davops::put(&url(&base, "Budget.xlsx"), ALICE, b"x").await;
    davops::put(&url(&base, "Free.txt"), ALICE, b"x").await;
    let owner = Some("<D:href>mailto:bob@example.com</D:href>".to_owned());
    davops::lock(
        &url(&base, "Budget.xlsx"),
        BOB,
        &LockSpec {
            owner_xml: owner,
            ..LockSpec::default()
        },
    )
    .await
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let cfg = write_config(
        home.path(),
        &format!(
            "[[servers]]\nname = \"team\"\nurl = \"{base}\"\nwatch = [\"Budget.xlsx\", \"Free.txt\"]\nwanted = [\"Budget.xlsx\"]\n"
        ),
    );
    let out = lockwatch(
        home.path(),
        &["status", "--json", "--config", cfg.to_str().unwrap()],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(keys(&json), ["files", "servers"]);
    assert_eq!(
        json["servers"][0],
        serde_json::json!({"name": "team", "kind": "webdav", "ok": true, "error": null})
    );
    let budget = &json["files"][0];
    assert_eq!(
        keys(budget),
        ["error", "locks", "path", "server", "state", "url", "wanted"]
    );
    assert_eq!(budget["path"], "Budget.xlsx");
    assert_eq!(budget["state"], "locked");
    assert_eq!(budget["wanted"], true);
    assert_eq!(budget["url"], format!("{base}Budget.xlsx"));
    let lock = &budget["locks"][0];
    assert_eq!(
        keys(lock),
        [
            "acquired_at",
            "depth",
            "editor",
            "expires_at",
            "expiry",
            "inherited",
            "kind",
            "mine",
            "owner",
            "owner_id",
            "root",
            "scope",
            "timeout",
            "token"
        ]
    );
    assert_eq!(lock["owner"], "bob@example.com");
    assert_eq!(lock["owner_id"], "mailto:bob@example.com");
    assert_eq!(lock["scope"], "exclusive");
    assert_eq!(lock["kind"], "webdav");
    assert_eq!(lock["depth"], "0");
    let expires = lock["expires_at"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(expires).is_ok() && expires.ends_with('Z'),
        "{expires}"
    );
    assert_eq!(json["files"][1]["state"], "unlocked");
    assert_eq!(json["files"][1]["locks"], serde_json::json!([]));
}

#[tokio::test]
async fn table_fits_the_terminal_and_errors_give_exit_code_1() {
    let server = DavServer::start();
    let base = server.base_url();
    davops::put(
        &url(
            &base,
            "A rather long file name for a narrow terminal window.docx",
        ),
        ALICE,
        b"x",
    )
    .await;
    let dead = dead_port();
    let home = tempfile::tempdir().unwrap();
    let cfg = write_config(
        home.path(),
        &format!(
            "[[servers]]\nname = \"good\"\nurl = \"{base}\"\nwatch = [\"A rather long file name for a narrow terminal window.docx\"]\n\
             [[servers]]\nname = \"down\"\nurl = \"http://127.0.0.1:{dead}/\"\nwatch = [\"x.txt\"]\n"
        ),
    );
    let out = lockwatch(
        home.path(),
        &["status", "--config", cfg.to_str().unwrap()],
        &[("COLUMNS", "72")],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.lines().all(|l| l.chars().count() <= 72), "{stdout}");
    assert!(
        stdout.contains("unlocked") && stdout.contains("good") && stdout.contains("down"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("! down: cannot reach 127.0.0.1:{dead}")),
        "{stdout}"
    );
}

#[tokio::test]
async fn config_errors_exit_2_naming_file_line_and_key() {
    let home = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[[servers]]\nname = \"a\"\nurl = \"http://h/\"\nwach = [\"x\"]\n",
            ":4:1: wach: unknown field",
        ),
        (
            "[[servers]]\nname = \"a\"\nurl = \"http://h/\"\n[[servers]]\nname = \"a\"\nurl = \"http://i/\"\n",
            ":5:8: servers[1].name: duplicate server name",
        ),
        (
            "[[servers]]\nname = \"a\"\nurl = \"htp:/x\"\n",
            ":3:7: servers[0].url:",
        ),
        (
            "[[servers]]\nname = \"a\"\nurl = \"http://h/\"\nusername = \"u\"\npassword_env = \"LW_TEST_UNSET\"\n",
            ":5:16: servers[0].password_env: the environment variable LW_TEST_UNSET is not set",
        ),
    ];
    for (text, expected) in cases {
        let cfg = write_config(home.path(), text);
        let out = lockwatch(
            home.path(),
            &["status", "--config", cfg.to_str().unwrap()],
            &[],
        )
        .await;
        assert_eq!(out.status.code(), Some(2), "{}", both(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("{}{expected}", cfg.display())),
            "expected {expected:?} in {stderr}"
        );
        assert!(out.stdout.is_empty());
    }
    let cfg = write_config(
        home.path(),
        "[[servers]]\nname = \"a\"\nurl = \"http://h/\"\n",
    );
    let out = lockwatch(
        home.path(),
        &["status", "nope", "--config", cfg.to_str().unwrap()],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no server named \"nope\""));
    let out = lockwatch(
        home.path(),
        &["status", "--config", "/nonexistent/config.toml"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    let out = lockwatch(
        home.path(),
        &["status"],
        &[("LOCKWATCH_CONFIG", cfg.to_str().unwrap())],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "LOCKWATCH_CONFIG is honoured: {}",
        both(&out)
    );
}

/// At trace log level, against a server that accepts and one that rejects the password, neither the
/// password nor its Basic-auth encoding appears anywhere in the output.
#[tokio::test]
async fn passwords_never_reach_the_output() {
    let server = Apache::start();
    let base = server.base_url();
    davops::put(&url(&base, "Doc.txt"), ALICE, b"x").await;
    let home = tempfile::tempdir().unwrap();
    let cfg = write_config(
        home.path(),
        &format!(
            "[[servers]]\nname = \"ok\"\nurl = \"{base}\"\nusername = \"alice\"\npassword_env = \"GOOD_PW\"\nwatch = [\"Doc.txt\"]\n\
             [[servers]]\nname = \"bad\"\nurl = \"{base}\"\nusername = \"alice\"\npassword_env = \"BAD_PW\"\nwatch = [\"Doc.txt\"]\n"
        ),
    );
    let secrets = [ALICE.1, "Tr0ub4dor&3-wrong"];
    for json in [false, true] {
        let mut args = vec!["status", "--config", cfg.to_str().unwrap()];
        if json {
            args.push("--json");
        }
        let out = lockwatch(
            home.path(),
            &args,
            &[
                ("GOOD_PW", secrets[0]),
                ("BAD_PW", secrets[1]),
                ("LOCKWATCH_LOG", "trace"),
            ],
        )
        .await;
        assert_eq!(out.status.code(), Some(1), "{}", both(&out));
        let all = both(&out);
        assert!(all.contains("rejected the credentials"), "{all}");
        assert!(
            all.contains("TRACE") || all.contains("DEBUG"),
            "logs were on: {all}"
        );
        for secret in secrets {
            use base64::Engine as _;
            let basic = base64::engine::general_purpose::STANDARD.encode(format!("alice:{secret}"));
            assert!(
                !all.contains(secret) && !all.contains(&basic),
                "{secret} leaked:\n{all}"
            );
        }
    }
}

#[tokio::test]
async fn without_a_config_status_shows_the_demo() {
    let home = tempfile::tempdir().unwrap();
    let out = lockwatch(home.path(), &["status"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "Budget 2026.xlsx",
        "alice@example.com",
        "Bob Builder",
        "locked (folder)",
        "unlocked",
    ] {
        assert!(stdout.contains(expected), "{expected} missing:\n{stdout}");
    }
    assert!(String::from_utf8_lossy(&out.stderr).contains("built-in demo"));
}

/// `lockwatch demo` prints a config; `lockwatch status` with that config reads the demo server.
#[tokio::test]
async fn demo_prints_a_config_that_works() {
    let home = tempfile::tempdir().unwrap();
    let mut demo = tokio::process::Command::new(env!("CARGO_BIN_EXE_lockwatch"))
        .args(["demo", "--every", "0"])
        .env("HOME", home.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(demo.stdout.take().unwrap()).lines();
    let mut text = String::new();
    while let Some(line) =
        tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
            .await
            .unwrap()
            .unwrap()
    {
        text.push_str(&line);
        text.push('\n');
        if line.starts_with("wanted") {
            break;
        }
    }
    let cfg = write_config(home.path(), &text);
    let out = lockwatch(
        home.path(),
        &["status", "--json", "--config", cfg.to_str().unwrap()],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let files = json["files"].as_array().unwrap();
    assert_eq!(files.len(), 7, "{json:#}");
    let state = |path: &str| {
        files.iter().find(|f| f["path"] == path).unwrap()["state"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(state("Budget 2026.xlsx"), "locked");
    assert_eq!(state("Plan.pptx"), "unlocked");
    assert_eq!(state("Archive/2024 summary.pdf"), "locked");
    let minutes = files
        .iter()
        .find(|f| f["path"] == "Reports/Minutes.odt")
        .unwrap();
    assert_eq!(minutes["locks"].as_array().unwrap().len(), 2);
    demo.kill().await.unwrap();
}
