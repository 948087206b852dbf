//! Any bytes as a Nextcloud capabilities answer: `Some` or `None`, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = lockwatch::protocol::nextcloud::parse_capabilities(data);
});
