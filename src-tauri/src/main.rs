//! `lockwatch-app`: the desktop tray app. All of it lives in the library so tests can drive it.

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    lockwatch_app::run();
}
