//! Any text as a config file: a config or an error with a position, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let env = |var: &str| (var == "PW").then(|| "secret".to_owned());
        if let Err(err) = lockwatch::config::Config::parse(text, "fuzz.toml", &env) {
            // Formatting the error walks the line/column code too.
            let _ = err.to_string();
        }
    }
});
