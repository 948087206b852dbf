//! Any bytes a server sends as a PROPFIND answer: the multistatus parser returns `Ok` or `Err`, never panics,
//! and then the WebDAV interpretation of whatever it returned does not panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(responses) = lockwatch::protocol::multistatus::parse(data) {
        for response in &responses {
            let _ = lockwatch::protocol::relative_path(&url_base(), &response.href);
        }
    }
});

fn url_base() -> url::Url {
    url::Url::parse("http://127.0.0.1/dav/").expect("static URL")
}
