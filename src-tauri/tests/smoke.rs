//! The shell on Tauri's mock runtime: every registered command answers through real IPC, errors cross
//! as `{kind, message}`, no password ever crosses, and `build.rs`, the handler and the capability file
//! agree on the list of commands. No window, display or WebKit needed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lockwatch::secrets::{MemoryStore, Secret, SecretStore};
use lockwatch_app::session::Session;
use lockwatch_app::{COMMANDS, run_app};
use serde_json::{Value, json};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{
    INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets,
};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow, WebviewWindowBuilder};

struct Shell {
    _app: App<MockRuntime>,
    window: WebviewWindow<MockRuntime>,
    _dir: tempfile::TempDir,
}

impl Shell {
    /// The shell over the config `config` (none: the built-in demo), with `secrets` as the keyring.
    fn start(config: Option<&str>, secrets: MemoryStore) -> Shell {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("config.toml");
        if let Some(text) = config {
            std::fs::write(&path, text).expect("write config");
        }
        let session = tauri::async_runtime::block_on(Session::open(path, Arc::new(secrets)));
        let app = run_app(mock_builder(), Arc::new(session))
            .build(mock_context(noop_assets()))
            .expect("build the app");
        let window = WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .expect("main window");
        Shell {
            _app: app,
            window,
            _dir: dir,
        }
    }

    fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        get_ipc_response(
            &self.window,
            InvokeRequest {
                cmd: cmd.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                // The app's own origin (on Linux the tauri:// protocol); anything else counts as remote content.
                url: "tauri://localhost".parse().expect("url"),
                body: InvokeBody::Json(args),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_owned(),
            },
        )
        .map(|body| body.deserialize::<Value>().expect("JSON answer"))
    }

    fn ok(&self, cmd: &str, args: Value) -> Value {
        self.invoke(cmd, args)
            .unwrap_or_else(|err| panic!("{cmd} failed: {err}"))
    }
}

/// A port nothing listens on: bound, then released.
fn dead_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

#[test]
fn without_a_config_the_demo_answers_with_colleagues_locks() {
    let shell = Shell::start(None, MemoryStore::new());
    let snap = shell.ok("snapshot", json!({}));
    assert_eq!(snap["demo"], true);
    assert_eq!(snap["paused"], false);
    assert_eq!(
        snap["features"],
        json!([]),
        "no optional feature is offered yet"
    );
    assert!(
        snap["config_path"]
            .as_str()
            .expect("path")
            .ends_with("config.toml")
    );
    assert_eq!(snap["servers"][0]["name"], "demo");
    assert_eq!(snap["servers"][0]["ok"], true, "{}", snap["servers"][0]);
    let budget = snap["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|f| f["path"] == "Budget 2026.xlsx")
        .expect("the demo's wanted file");
    assert_eq!(budget["wanted"], true);
    assert_eq!(budget["state"], "locked");
    assert_eq!(budget["locks"][0]["owner"], "alice@example.com");

    let refreshed = shell.ok("refresh_now", json!({}));
    assert!(refreshed["generated_at"].as_str() >= snap["generated_at"].as_str());

    let servers = shell.ok("list_servers", json!({}));
    assert_eq!(servers[0]["name"], "demo");
    assert_eq!(servers[0]["has_password"], false);
}

#[test]
fn pausing_shows_in_the_snapshot() {
    let shell = Shell::start(None, MemoryStore::new());
    shell.ok("snapshot", json!({}));
    assert_eq!(shell.ok("set_paused", json!({"paused": true})), Value::Null);
    assert_eq!(shell.ok("snapshot", json!({}))["paused"], true);
    shell.ok("set_paused", json!({"paused": false}));
    assert_eq!(shell.ok("snapshot", json!({}))["paused"], false);
}

#[test]
fn leaving_and_entering_the_demo() {
    let shell = Shell::start(None, MemoryStore::new());
    shell.ok("exit_demo", json!({}));
    let empty = shell.ok("snapshot", json!({}));
    assert_eq!(empty["demo"], false);
    assert_eq!(empty["servers"], json!([]));
    assert_eq!(empty["files"], json!([]));
    assert_eq!(shell.ok("list_servers", json!({})), json!([]));
    shell.ok("enter_demo", json!({}));
    assert_eq!(shell.ok("snapshot", json!({}))["demo"], true);
}

#[test]
fn an_unreachable_server_is_reported_with_kind_message_and_retry() {
    let config = format!(
        "poll_interval_secs = 7\n[[servers]]\nname = \"team\"\nkind = \"webdav\"\nurl = \"http://127.0.0.1:{}/dav/\"\nusername = \"alice\"\nwatch = [\"Budget.xlsx\"]\n",
        dead_port()
    );
    let secrets = MemoryStore::new();
    secrets
        .set("team", &Secret::new("hunter2-very-secret"))
        .expect("store");
    let shell = Shell::start(Some(&config), secrets);
    let snap = shell.ok("snapshot", json!({}));
    assert_eq!(snap["demo"], false);
    let team = &snap["servers"][0];
    assert_eq!(team["ok"], false);
    assert_eq!(team["error"]["kind"], "network");
    assert!(
        team["error"]["message"]
            .as_str()
            .expect("message")
            .starts_with("team: cannot reach")
    );
    assert_eq!(team["retry_in_secs"], 7);
    assert_eq!(snap["files"][0]["state"], "error");

    let servers = shell.ok("list_servers", json!({}));
    assert_eq!(servers[0]["username"], "alice");
    assert_eq!(servers[0]["has_password"], true);
    for answer in [&snap, &servers] {
        assert!(
            !answer.to_string().contains("hunter2"),
            "a password crossed IPC: {answer}"
        );
    }
}

#[test]
fn an_invalid_config_rejects_with_kind_and_message() {
    let shell = Shell::start(
        Some(
            "[[servers]]\nname = \"team\"\nurl = \"https://dav.example.com/\"\npasword_env = \"X\"\n",
        ),
        MemoryStore::new(),
    );
    for cmd in ["snapshot", "refresh_now", "list_servers"] {
        let err = shell.invoke(cmd, json!({})).expect_err(cmd);
        let object = err.as_object().expect("an object");
        assert_eq!(object.len(), 2, "only kind and message: {err}");
        assert_eq!(err["kind"], "config");
        let message = err["message"].as_str().expect("message");
        assert!(
            message.contains("config.toml:4:1: pasword_env: unknown field"),
            "{message}"
        );
    }
}

#[test]
fn commands_the_engine_cannot_serve_yet_are_not_registered() {
    let shell = Shell::start(None, MemoryStore::new());
    for cmd in [
        "lock_file",
        "unlock_file",
        "force_unlock",
        "capabilities",
        "ask_to_release",
        "save_server",
        "remove_server",
        "test_connection",
        "history",
        "set_wanted",
    ] {
        assert!(shell.invoke(cmd, json!({})).is_err(), "{cmd} answered");
    }
}

#[test]
fn build_rs_the_handler_and_the_capability_agree() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let commands: Vec<&str> = COMMANDS.split(',').collect();
    // Every declared command is handled (a missing handler answers "not found", not a result).
    let shell = Shell::start(None, MemoryStore::new());
    for cmd in &commands {
        let args = if *cmd == "set_paused" {
            json!({"paused": false})
        } else {
            json!({})
        };
        shell.ok(cmd, args);
    }
    // The window's capability grants exactly those commands plus listening to events.
    let capability: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("capabilities/main.json")).expect("capability file"),
    )
    .expect("capability JSON");
    let mut granted: Vec<String> = capability["permissions"]
        .as_array()
        .expect("permissions")
        .iter()
        .map(|p| p.as_str().expect("a permission name").to_owned())
        .collect();
    let mut expected: Vec<String> = commands
        .iter()
        .map(|c| format!("allow-{}", c.replace('_', "-")))
        .chain([
            "core:event:allow-listen".into(),
            "core:event:allow-unlisten".into(),
        ])
        .collect();
    granted.sort();
    expected.sort();
    assert_eq!(granted, expected);
    let capabilities: Vec<PathBuf> = std::fs::read_dir(root.join("capabilities"))
        .expect("capabilities dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(
        capabilities.len(),
        1,
        "one capability file: {capabilities:?}"
    );
}

#[test]
fn the_ui_calls_no_command_outside_the_shell_except_the_pending_ones() {
    // ui/src/ipc.ts is the UI's one door; every command it names is either registered or one of the
    // features the snapshot reports as missing (which the UI shows as "not available yet").
    let ipc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/ipc.ts"))
            .expect("ui/src/ipc.ts");
    let pending = [
        "set_wanted",
        "lock_file",
        "unlock_file",
        "force_unlock",
        "capabilities",
        "ask_to_release",
        "save_server",
        "remove_server",
        "test_connection",
        "history",
    ];
    let called: Vec<&str> = ipc
        .split("call<")
        .skip(1)
        .filter_map(|rest| rest.split('"').nth(1))
        .collect();
    assert!(called.len() >= 16, "{called:?}");
    for cmd in called {
        assert!(
            COMMANDS.split(',').any(|c| c == cmd) || pending.contains(&cmd),
            "ui/src/ipc.ts calls {cmd}, which the shell neither registers nor lists as pending"
        );
    }
}
