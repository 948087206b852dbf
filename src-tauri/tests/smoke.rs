//! The shell on Tauri's mock runtime: every registered command answers through real IPC, errors cross
//! as `{kind, message}`, no password ever crosses, and `build.rs`, the handler and the capability file
//! agree on the list of commands. The actions run against real WebDAV servers: the built-in demo (an
//! in-process dav-server) or one started by the test. No window, display or WebKit needed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use lockwatch::demo::Demo;
use lockwatch::secrets::{MemoryStore, Secret, SecretStore};
use lockwatch::watch::notice::DesktopNotifier;
use lockwatch_app::dto::FocusFile;
use lockwatch_app::session::{Environment, Session};
use lockwatch_app::{COMMANDS, MAIN_WINDOW, publish, reveal, run_app, show_window};
use serde_json::{Value, json};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{
    INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets,
};
use tauri::utils::config::WindowConfig;
use tauri::webview::InvokeRequest;
use tauri::{App, Listener, Manager, WebviewWindow};

/// The app on the mock runtime with the real config's window entry (which `tauri.conf.json` does not
/// create at start), and no window yet: as after the window was closed, or a start at login.
fn app_without_window(session: Session) -> App<MockRuntime> {
    let conf: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tauri.conf.json"))
            .expect("tauri.conf.json"),
    )
    .expect("tauri.conf.json is JSON");
    let window: WindowConfig =
        serde_json::from_value(conf["app"]["windows"][0].clone()).expect("the window entry");
    assert!(
        !window.create,
        "the app creates its window itself, unless started at login"
    );
    let mut context = mock_context(noop_assets());
    context.config_mut().app.windows = vec![window];
    run_app(mock_builder(), Arc::new(session))
        .build(context)
        .expect("build the app")
}

struct Shell {
    _app: App<MockRuntime>,
    window: WebviewWindow<MockRuntime>,
    dir: tempfile::TempDir,
    /// Links handed to the desktop's opener.
    opened: Arc<Mutex<Vec<String>>>,
}

impl Shell {
    /// The shell over the config `config` (none: the built-in demo), with `secrets` as the keyring and
    /// every other store in a temp dir.
    fn start(config: Option<&str>, secrets: impl SecretStore + 'static) -> Shell {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("config.toml");
        if let Some(text) = config {
            std::fs::write(&path, text).expect("write config");
        }
        let opened = Arc::new(Mutex::new(Vec::new()));
        let env = Environment::in_dir(dir.path(), Arc::new(secrets), opened.clone());
        let session = tauri::async_runtime::block_on(Session::open(path, env));
        let app = app_without_window(session);
        show_window(app.handle());
        let window = app
            .get_webview_window(MAIN_WINDOW)
            .expect("the window, made from the config's entry");
        Shell {
            _app: app,
            window,
            dir,
            opened,
        }
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    fn err(&self, cmd: &str, args: Value) -> Value {
        match self.invoke(cmd, args) {
            Ok(answer) => panic!("{cmd} answered {answer}"),
            Err(err) => err,
        }
    }

    fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        invoke(&self.window, cmd, args)
    }

    fn ok(&self, cmd: &str, args: Value) -> Value {
        self.invoke(cmd, args)
            .unwrap_or_else(|err| panic!("{cmd} failed: {err}"))
    }
}

/// Calls `cmd` from `window`'s UI through real IPC.
fn invoke(window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    get_ipc_response(
        window,
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
fn build_rs_the_handler_and_the_capability_agree() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let commands: Vec<&str> = COMMANDS.split(',').collect();
    // Every declared command is handled: called without its arguments it complains about them, not that
    // the command is missing.
    let shell = Shell::start(None, MemoryStore::new());
    for cmd in &commands {
        if let Err(err) = shell.invoke(cmd, json!({})) {
            let text = err.to_string();
            assert!(
                text.contains("missing required key"),
                "{cmd} is declared but not handled: {text}"
            );
        }
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
fn the_ui_calls_only_registered_commands() {
    // ui/src/ipc.ts is the UI's one door; every command it names must be registered and granted.
    let ipc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/ipc.ts"))
            .expect("ui/src/ipc.ts");
    let called: Vec<&str> = ipc
        .split("call<")
        .skip(1)
        .filter_map(|rest| rest.split('"').nth(1))
        .collect();
    assert!(called.len() >= 20, "{called:?}");
    for cmd in &called {
        assert!(
            COMMANDS.split(',').any(|c| c == *cmd),
            "ui/src/ipc.ts calls {cmd}, which the shell does not register"
        );
    }
    for cmd in COMMANDS.split(',') {
        assert!(
            called.contains(&cmd),
            "{cmd} is granted but the UI never calls it"
        );
    }
}

/// The demo's file that no simulated colleague ever locks.
const QUIET: &str = "Reports/Q4 draft.docx";

fn file<'a>(snapshot: &'a Value, path: &str) -> &'a Value {
    snapshot["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("{path} in {snapshot}"))
}

#[test]
fn lock_and_unlock_round_trip_marks_the_lock_as_yours() {
    let shell = Shell::start(None, MemoryStore::new());
    shell.ok("snapshot", json!({}));
    let locked = shell.ok(
        "lock_file",
        json!({"server": "demo", "path": QUIET, "shared": false}),
    );
    assert_eq!(locked["outcome"]["ok"], true, "{locked}");
    assert_eq!(locked["state"], "locked");
    assert_eq!(locked["locks"][0]["mine"], true);
    assert!(
        locked["outcome"]["message"]
            .as_str()
            .expect("message")
            .starts_with("Locked Q4 draft.docx for you"),
        "{locked}"
    );
    // The table has it at once, and the held-lock store remembers it for the next read.
    assert_eq!(
        file(&shell.ok("snapshot", json!({})), QUIET)["locks"][0]["mine"],
        true
    );
    let held = std::fs::read_to_string(shell.dir.path().join("held-locks.json")).expect("held");
    assert!(held.contains("Q4 draft.docx"), "{held}");
    let reread = shell.ok("refresh_now", json!({}));
    assert_eq!(file(&reread, QUIET)["locks"][0]["mine"], true, "{reread}");

    let unlocked = shell.ok("unlock_file", json!({"server": "demo", "path": QUIET}));
    assert_eq!(unlocked["outcome"]["ok"], true, "{unlocked}");
    assert_eq!(unlocked["state"], "unlocked");
    assert_eq!(
        file(&shell.ok("snapshot", json!({})), QUIET)["state"],
        "unlocked"
    );

    // Nothing held any more: the engine says so, as `{kind, message}` in the outcome.
    let again = shell.ok("unlock_file", json!({"server": "demo", "path": QUIET}));
    assert_eq!(again["outcome"]["ok"], false);
    assert_eq!(again["outcome"]["error"]["kind"], "conflict");
    // Bad requests are refused with a kind and a message.
    let err = shell.err(
        "lock_file",
        json!({"server": "nope", "path": QUIET, "shared": false}),
    );
    assert_eq!(err["kind"], "config");
    let err = shell.err(
        "lock_file",
        json!({"server": "demo", "path": "Reports/", "shared": false}),
    );
    assert_eq!(err["kind"], "config");
    assert!(
        err["message"]
            .as_str()
            .expect("message")
            .contains("not a file")
    );
}

#[test]
fn force_unlock_warns_about_lost_work_then_frees_the_file() {
    let shell = Shell::start(None, MemoryStore::new());
    shell.ok("snapshot", json!({}));
    let caps = shell.ok("capabilities", json!({"server": "demo"}));
    assert_eq!(caps["kind"], "webdav");
    assert_ne!(caps["can_force_unlock"], "no", "{caps}");
    let warning = shell.ok(
        "force_unlock_warning",
        json!({"server": "demo", "path": "Budget 2026.xlsx"}),
    );
    let warning = warning.as_str().expect("text");
    assert!(warning.contains("alice@example.com"), "{warning}");
    assert!(warning.contains("may lose unsaved work"), "{warning}");
    let report = shell.ok(
        "force_unlock",
        json!({"server": "demo", "path": "Budget 2026.xlsx"}),
    );
    assert_eq!(report["outcome"]["ok"], true, "{report}");
    assert_eq!(report["state"], "unlocked");
    assert_eq!(
        file(&shell.ok("snapshot", json!({})), "Budget 2026.xlsx")["state"],
        "unlocked"
    );
}

#[test]
fn asking_by_mail_opens_the_mail_client_and_is_rate_limited() {
    let shell = Shell::start(None, MemoryStore::new());
    shell.ok("snapshot", json!({}));
    let channels = shell.ok(
        "ask_channels",
        json!({"server": "demo", "path": "Budget 2026.xlsx"}),
    );
    assert_eq!(channels, json!(["mail"]), "alice's owner is a mailto: href");
    let sent = shell.ok(
        "ask_to_release",
        json!({"server": "demo", "path": "Budget 2026.xlsx", "via": "mail", "message": ""}),
    );
    assert_eq!(sent["channel"], "mail");
    assert!(
        sent["message"]
            .as_str()
            .expect("message")
            .contains("in your mail client"),
        "{sent}"
    );
    assert!(
        sent.get("mailto").is_none(),
        "the link never goes to the window: {sent}"
    );
    let opened = shell.opened.lock().expect("opened").clone();
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert!(
        opened[0].starts_with("mailto:alice@example.com?subject="),
        "{opened:?}"
    );
    // The request is in the history database the command line uses, and a second one is refused for a
    // while.
    let db = lockwatch::history::History::open(
        &shell.dir.path().join("history.sqlite3"),
        std::time::Duration::from_secs(3600),
        std::time::Duration::from_secs(86_400),
        chrono::Utc::now(),
    )
    .expect("history db");
    let asks = db
        .asks(Some("demo"), Some("Budget 2026.xlsx"))
        .expect("asks");
    assert_eq!(asks.len(), 1, "{asks:?}");
    assert!(asks[0].ok);
    drop(db);
    let err = shell.err(
        "ask_to_release",
        json!({"server": "demo", "path": "Budget 2026.xlsx", "via": "mail", "message": "again?"}),
    );
    assert_eq!(err["kind"], "conflict");
    assert!(
        err["message"]
            .as_str()
            .expect("message")
            .contains("already asked"),
        "{err}"
    );
    assert_eq!(shell.opened.lock().expect("opened").len(), 1);
    // Nobody holds the quiet file: nobody to ask.
    assert_eq!(
        shell.ok("ask_channels", json!({"server": "demo", "path": QUIET})),
        json!([])
    );
}

#[test]
fn want_is_saved_in_the_config_file_and_shown_at_once() {
    let demo = tauri::async_runtime::block_on(Demo::start(SocketAddr::from(([127, 0, 0, 1], 0))))
        .expect("demo server");
    let config = format!(
        "# my servers\n[[servers]]\nname = \"team\" # the office\nkind = \"webdav\"\nurl = \"{}\"\nwatch = [\"Plan.pptx\", \"Budget 2026.xlsx\"]\n",
        demo.url()
    );
    let shell = Shell::start(Some(&config), MemoryStore::new());
    let before = shell.ok("snapshot", json!({}));
    assert_eq!(file(&before, "Plan.pptx")["wanted"], false);
    assert_eq!(
        shell.ok(
            "set_wanted",
            json!({"server": "team", "path": "Plan.pptx", "wanted": true})
        ),
        Value::Null
    );
    assert_eq!(
        file(&shell.ok("snapshot", json!({})), "Plan.pptx")["wanted"],
        true
    );
    let text = std::fs::read_to_string(shell.config_path()).expect("config");
    assert!(text.contains("wanted = [\"Plan.pptx\"]"), "{text}");
    assert!(
        text.contains("# my servers") && text.contains("# the office"),
        "{text}"
    );
    shell.ok(
        "set_wanted",
        json!({"server": "team", "path": "Plan.pptx", "wanted": false}),
    );
    assert_eq!(
        file(&shell.ok("snapshot", json!({})), "Plan.pptx")["wanted"],
        false
    );
    let err = shell.err(
        "set_wanted",
        json!({"server": "gone", "path": "Plan.pptx", "wanted": true}),
    );
    assert_eq!(err["kind"], "config");
}

#[test]
fn edits_of_the_config_file_from_outside_are_picked_up_and_broken_ones_ignored() {
    let demo = tauri::async_runtime::block_on(Demo::start(SocketAddr::from(([127, 0, 0, 1], 0))))
        .expect("demo server");
    let config = format!(
        "[[servers]]\nname = \"team\"\nkind = \"webdav\"\nurl = \"{}\"\nwatch = [\"Plan.pptx\"]\n",
        demo.url()
    );
    let shell = Shell::start(Some(&config), MemoryStore::new());
    assert_eq!(
        file(&shell.ok("snapshot", json!({})), "Plan.pptx")["wanted"],
        false
    );

    // `lockwatch want team Plan.pptx` while the app runs.
    let edited = config.replace(
        "watch = [\"Plan.pptx\"]",
        "watch = [\"Plan.pptx\"]\nwanted = [\"Plan.pptx\"]",
    );
    std::fs::write(shell.config_path(), &edited).expect("edit");
    let after = shell.ok("refresh_now", json!({}));
    assert_eq!(file(&after, "Plan.pptx")["wanted"], true, "{after:#}");

    // A broken edit changes nothing in force, and is never overwritten.
    std::fs::write(shell.config_path(), format!("{edited}bogus = 1\n")).expect("break");
    let after = shell.ok("refresh_now", json!({}));
    assert_eq!(file(&after, "Plan.pptx")["wanted"], true, "{after:#}");
    assert!(
        std::fs::read_to_string(shell.config_path())
            .expect("config")
            .ends_with("bogus = 1\n")
    );
}

#[test]
fn the_demo_remembers_wanted_files_in_memory_only() {
    let shell = Shell::start(None, MemoryStore::new());
    shell.ok("snapshot", json!({}));
    shell.ok(
        "set_wanted",
        json!({"server": "demo", "path": "Plan.pptx", "wanted": true}),
    );
    assert_eq!(
        file(&shell.ok("snapshot", json!({})), "Plan.pptx")["wanted"],
        true
    );
    assert!(
        !shell.config_path().exists(),
        "the demo writes no config file"
    );
}

/// A secret store the test can look into after handing it to the shell.
#[derive(Clone, Default)]
struct SharedStore(Arc<MemoryStore>);

impl SecretStore for SharedStore {
    fn get(&self, server: &str) -> lockwatch::Result<Option<Secret>> {
        self.0.get(server)
    }
    fn set(&self, server: &str, secret: &Secret) -> lockwatch::Result<()> {
        self.0.set(server, secret)
    }
    fn delete(&self, server: &str) -> lockwatch::Result<()> {
        self.0.delete(server)
    }
}

#[test]
fn servers_are_tested_added_changed_and_removed_with_passwords_in_the_keyring() {
    let demo = tauri::async_runtime::block_on(Demo::start(SocketAddr::from(([127, 0, 0, 1], 0))))
        .expect("demo server");
    let keyring = SharedStore::default();
    let shell = Shell::start(None, keyring.clone());
    shell.ok("snapshot", json!({}));
    let settings = json!({
        "name": "office", "kind": "auto", "url": demo.url().to_string(), "username": "ann",
        "password_env": null, "has_password": false, "watch": ["Plan.pptx"], "wanted": [],
    });
    // Test connection: detected kind and capabilities, with the typed password used once and not kept.
    let caps = shell.ok(
        "test_connection",
        json!({"settings": settings, "password": "typed-only"}),
    );
    assert_eq!(caps["kind"], "webdav");
    assert_eq!(caps["dav_class2"], true);
    assert!(keyring.get("office").expect("keyring").is_none());

    shell.ok(
        "save_server",
        json!({"settings": settings, "create": true, "password": "hunter2-secret"}),
    );
    let text = std::fs::read_to_string(shell.config_path()).expect("config written");
    assert!(text.contains("name = \"office\""), "{text}");
    assert!(
        !text.contains("hunter2"),
        "a password reached the config file: {text}"
    );
    assert_eq!(
        keyring
            .get("office")
            .expect("keyring")
            .map(|s| s.expose().to_owned()),
        Some("hunter2-secret".to_owned())
    );
    let snap = shell.ok("snapshot", json!({}));
    assert_eq!(snap["demo"], false, "saving a server leaves the demo");
    assert_eq!(snap["servers"][0]["name"], "office");
    assert_eq!(snap["servers"][0]["ok"], true, "{snap}");
    let listed = shell.ok("list_servers", json!({}));
    assert_eq!(listed[0]["has_password"], true);
    assert!(!listed.to_string().contains("hunter2"));

    let err = shell.err(
        "save_server",
        json!({"settings": settings, "create": true, "password": null}),
    );
    assert_eq!(err["kind"], "config");
    assert!(
        err["message"]
            .as_str()
            .expect("message")
            .contains("already exists")
    );

    let mut changed = settings.clone();
    changed["kind"] = json!("webdav");
    changed["watch"] = json!(["Plan.pptx", "Budget 2026.xlsx"]);
    shell.ok(
        "save_server",
        json!({"settings": changed, "create": false, "password": null}),
    );
    let text = std::fs::read_to_string(shell.config_path()).expect("config");
    assert!(text.contains("kind = \"webdav\""), "{text}");
    assert_eq!(
        shell.ok("snapshot", json!({}))["files"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    // A password variable that is not set is refused before anything is written.
    let mut env = settings.clone();
    env["password_env"] = json!("LOCKWATCH_SMOKE_SURELY_UNSET");
    let err = shell.err(
        "save_server",
        json!({"settings": env, "create": false, "password": null}),
    );
    assert_eq!(err["kind"], "config");
    assert!(
        !std::fs::read_to_string(shell.config_path())
            .expect("config")
            .contains("SURELY_UNSET")
    );

    shell.ok("remove_server", json!({"name": "office"}));
    assert!(keyring.get("office").expect("keyring").is_none());
    let snap = shell.ok("snapshot", json!({}));
    assert_eq!(snap["servers"], json!([]));
    let err = shell.err("remove_server", json!({"name": "office"}));
    assert_eq!(err["kind"], "config");
}

#[test]
fn history_reads_the_database_and_is_empty_without_one() {
    let shell = Shell::start(None, MemoryStore::new());
    shell.ok("snapshot", json!({}));
    let none = shell.ok(
        "history",
        json!({"server": "demo", "path": "Budget 2026.xlsx"}),
    );
    assert_eq!(none, json!([]));

    let now = chrono::Utc::now();
    let db = lockwatch::history::History::open(
        &shell.dir.path().join("history.sqlite3"),
        std::time::Duration::from_secs(3600),
        std::time::Duration::from_secs(86_400),
        now,
    )
    .expect("history db");
    let snap = shell.ok("snapshot", json!({}));
    let locks: Vec<lockwatch::model::Lock> =
        serde_json::from_value(file(&snap, "Budget 2026.xlsx")["locks"].clone()).expect("locks");
    db.record(&lockwatch::watch::LockEvent::Locked {
        server: "demo".into(),
        path: "Budget 2026.xlsx".into(),
        at: now - chrono::TimeDelta::minutes(5),
        wanted: true,
        locks,
    })
    .expect("record");
    drop(db);
    let holds = shell.ok(
        "history",
        json!({"server": "demo", "path": "Budget 2026.xlsx"}),
    );
    assert_eq!(holds.as_array().map(Vec::len), Some(1), "{holds}");
    assert_eq!(holds[0]["holder"], "alice@example.com");
    assert_eq!(holds[0]["until"], Value::Null);
    assert_eq!(holds[0]["stale"], false);
}

#[test]
fn autostart_is_unavailable_without_the_plugin() {
    let shell = Shell::start(None, MemoryStore::new());
    assert_eq!(
        shell.ok("app_settings", json!({})),
        json!({"autostart": false, "autostart_available": false})
    );
    let err = shell.err("set_autostart", json!({"enabled": true}));
    assert_eq!(err["kind"], "unsupported");
}

/// Counts the events called `name` the app sends.
fn count_events(app: &App<MockRuntime>, name: &str) -> Arc<std::sync::atomic::AtomicUsize> {
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    app.listen_any(name, move |_| {
        seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    count
}

#[test]
fn a_closed_window_is_sent_nothing_and_opens_again_at_the_file_to_reveal() {
    use std::sync::atomic::Ordering::SeqCst;
    let dir = tempfile::tempdir().expect("temp dir");
    let env = Environment::in_dir(dir.path(), Arc::new(MemoryStore::new()), Default::default());
    let session =
        tauri::async_runtime::block_on(Session::open(dir.path().join("config.toml"), env));
    let app = app_without_window(session);
    let snapshots = count_events(&app, "snapshot");
    let focus_events = count_events(&app, "focus-file");
    let session = app.state::<Arc<Session>>().inner().clone();
    let snapshot =
        tauri::async_runtime::block_on(session.snapshot(chrono::Utc::now())).expect("the demo");

    // No window: a new snapshot goes to the tray only.
    publish(app.handle(), &snapshot);
    assert_eq!(
        snapshots.load(SeqCst),
        0,
        "a snapshot was sent to no window"
    );

    // A wanted file chosen in the tray: the window is made again, and its UI, once it listens, takes the
    // file to reveal, once.
    let budget = FocusFile {
        server: "demo".into(),
        path: "Budget 2026.xlsx".into(),
        problem: None,
    };
    reveal(app.handle(), budget.clone());
    let window = app
        .get_webview_window(MAIN_WINDOW)
        .expect("the window is made again");
    assert_eq!(window.label(), MAIN_WINDOW);
    let taken = invoke(&window, "take_focus", json!({})).expect("take_focus");
    assert_eq!(
        taken,
        json!({"server": "demo", "path": "Budget 2026.xlsx", "problem": null})
    );
    assert_eq!(
        invoke(&window, "take_focus", json!({})).expect("take_focus"),
        Value::Null,
        "the file is revealed once"
    );

    // With the window open, snapshots reach it, and a file to reveal is announced by the event.
    publish(app.handle(), &snapshot);
    assert_eq!(snapshots.load(SeqCst), 1);
    let before = focus_events.load(SeqCst);
    let plan = FocusFile {
        server: "demo".into(),
        path: "Plan.pptx".into(),
        problem: None,
    };
    reveal(app.handle(), plan);
    assert_eq!(focus_events.load(SeqCst), before + 1);
    assert_eq!(
        invoke(&window, "take_focus", json!({})).expect("take_focus")["path"],
        "Plan.pptx"
    );
    // Showing the open window again makes no second one.
    show_window(app.handle());
    assert_eq!(app.webview_windows().len(), 1);
}

#[test]
fn the_watch_loop_is_given_a_snapshot_only_when_something_changed() {
    tauri::async_runtime::block_on(async {
        // The demo's server without its simulated colleagues, read once an hour: nothing changes unless
        // the test changes it.
        let demo = Demo::start(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("demo server");
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("config.toml");
        let config = demo
            .config_toml()
            .replace("poll_interval_secs = 5", "poll_interval_secs = 3600");
        assert!(config.contains("poll_interval_secs = 3600"), "{config}");
        std::fs::write(&path, config).expect("write config");
        let env = Environment::in_dir(dir.path(), Arc::new(MemoryStore::new()), Default::default());
        let session = Session::open(path, env).await;
        let _updates = session.start_watching(Arc::new(DesktopNotifier::new(None)));

        let first = next_change(&session, "no first reading").await;
        assert!(!first.files.is_empty());
        // Unchanged apart from the time: nothing to publish, and the latest snapshot has the new time.
        let later = chrono::Utc::now() + chrono::Duration::seconds(5);
        assert_eq!(session.watched_change(later), None);
        let latest = session.snapshot(later).await.expect("the latest snapshot");
        assert_eq!(latest.generated_at, later);
        assert_eq!(latest.files, first.files);
        // Pausing returns the changed snapshot to its caller (which publishes it); the loop has nothing
        // to add.
        let paused = session.set_paused(true).expect("a snapshot");
        assert!(paused.paused);
        assert_eq!(session.watched_change(chrono::Utc::now()), None);
        // Reading the servers again changes their "checked at": that is published.
        session.set_paused(false);
        session.refresh(chrono::Utc::now()).await.expect("refresh");
        let next = next_change(&session, "the new reading was not published").await;
        assert!(
            next.servers[0].checked_at > first.servers[0].checked_at,
            "{:?} after {:?}",
            next.servers[0].checked_at,
            first.servers[0].checked_at
        );
    });
}

/// The next snapshot the watch loop would publish, asked for every 50 ms; fails with `missing` after 30 s.
async fn next_change(session: &Session, missing: &str) -> lockwatch_app::dto::Snapshot {
    let started = std::time::Instant::now();
    loop {
        if let Some(snapshot) = session.watched_change(chrono::Utc::now()) {
            return snapshot;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{missing}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
