//! Declares every command the shell exposes, so Tauri generates an `allow-<command>` permission for each
//! and refuses any command a capability file does not grant. Keep this list, `commands.rs` and
//! `capabilities/main.json` in step (the smoke test checks the last two against this list).

/// Every IPC command, in the order of `commands.rs`.
const COMMANDS: &[&str] = &[
    "snapshot",
    "refresh_now",
    "set_paused",
    "list_servers",
    "exit_demo",
    "enter_demo",
    "set_wanted",
    "capabilities",
    "lock_file",
    "unlock_file",
    "force_unlock_warning",
    "force_unlock",
    "ask_channels",
    "ask_to_release",
    "history",
    "save_server",
    "remove_server",
    "test_connection",
    "app_settings",
    "set_autostart",
    "take_focus",
];

fn main() {
    println!("cargo::rustc-env=LOCKWATCH_COMMANDS={}", COMMANDS.join(","));
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri-build failed");
}
