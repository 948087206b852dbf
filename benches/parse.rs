//! Multistatus parsing throughput on 10,000-response bodies (plain WebDAV and Nextcloud-style, 10 % of the
//! files locked), next to quick-xml's tokenizer alone (the floor of any parser built on it) and a plain
//! byte scan of the same buffer (the ceiling of anything that reads every byte).
//!
//! Run: `cargo bench --bench parse` (or `scripts/bench`).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::fmt::Write;

/// A Depth-1 answer as Apache mod_dav writes it: 10,000 files, every tenth locked.
pub fn webdav_body(files: usize) -> String {
    let mut out = String::from(
        r#"<?xml version="1.0" encoding="utf-8"?><D:multistatus xmlns:D="DAV:" xmlns:ns0="DAV:">"#,
    );
    for i in 0..files {
        let lock = if i % 10 == 0 {
            format!(
                r#"<D:lockdiscovery><D:activelock><D:locktype><D:write/></D:locktype><D:lockscope><D:{}/></D:lockscope><D:depth>0</D:depth><ns0:owner xmlns:ns0="DAV:"><ns0:href>mailto:user{}@example.com</ns0:href></ns0:owner><D:timeout>Second-{}</D:timeout><D:locktoken><D:href>opaquelocktoken:7c0a{i:08x}-0000-4000-8000-00000000{i:04x}</D:href></D:locktoken></D:activelock></D:lockdiscovery>"#,
                if i % 30 == 0 { "shared" } else { "exclusive" },
                i % 50,
                600 + i
            )
        } else {
            "<D:lockdiscovery/>".to_owned()
        };
        let _ = write!(
            out,
            r#"<D:response xmlns:lp1="DAV:" xmlns:lp2="http://apache.org/dav/props/" xmlns:g0="DAV:"><D:href>/dav/Projects/Report%20{i:05}.docx</D:href><D:propstat><D:prop><lp1:resourcetype/><lp1:getetag>"{i:x}-5f1a2b3c4d5e6"</lp1:getetag><D:supportedlock><D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry><D:lockentry><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry></D:supportedlock>{lock}</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"#
        );
    }
    out.push_str("</D:multistatus>");
    out
}

/// A Depth-1 answer as Nextcloud writes it with the `nc:lock*` properties: 10,000 files, every tenth
/// locked, the unset lock properties in a 404 propstat.
pub fn nextcloud_body(files: usize) -> String {
    let mut out = String::from(
        r#"<?xml version="1.0"?><d:multistatus xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns">"#,
    );
    for i in 0..files {
        let (found, missing) = if i % 10 == 0 {
            (
                format!(
                    "<nc:lock>1</nc:lock><nc:lock-owner-type>0</nc:lock-owner-type><nc:lock-owner>user{}</nc:lock-owner><nc:lock-owner-displayname>User {} Example</nc:lock-owner-displayname><nc:lock-time>17000{i:05}</nc:lock-time><nc:lock-timeout>1800</nc:lock-timeout><nc:lock-token>files_lock/5d3c{i:08x}</nc:lock-token>",
                    i % 50,
                    i % 50
                ),
                "<nc:lock-owner-editor/>",
            )
        } else {
            (
                "<nc:lock/>".to_owned(),
                "<nc:lock-owner-type/><nc:lock-owner/><nc:lock-owner-displayname/><nc:lock-owner-editor/><nc:lock-time/><nc:lock-timeout/><nc:lock-token/>",
            )
        };
        let _ = write!(
            out,
            r#"<d:response><d:href>/remote.php/dav/files/alice/Projects/Report%20{i:05}.docx</d:href><d:propstat><d:prop><d:resourcetype/><d:getetag>&quot;6262b{i:05x}&quot;</d:getetag><oc:fileid>{}</oc:fileid>{found}<d:lockdiscovery/></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat><d:propstat><d:prop>{missing}</d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat></d:response>"#,
            1000 + i
        );
    }
    out.push_str("</d:multistatus>");
    out
}

/// quick-xml's tokenizer alone, every event read and dropped: what any parser built on it pays before
/// it looks at a single name.
fn tokenize(body: &[u8]) -> usize {
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut events = 0;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) | Err(_) => return events,
            Ok(_) => events += 1,
        }
    }
}

fn bench(c: &mut Criterion) {
    let webdav = webdav_body(10_000);
    let nextcloud = nextcloud_body(10_000);
    let mut group = c.benchmark_group("multistatus");
    group.sample_size(20);
    for (name, body) in [("webdav", &webdav), ("nextcloud", &nextcloud)] {
        let parsed = lockwatch::protocol::multistatus::parse(body.as_bytes())
            .expect("benchmark body parses");
        assert_eq!(parsed.len(), 10_000);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(format!("parse/{name}"), |b| {
            b.iter(|| {
                lockwatch::protocol::multistatus::parse(std::hint::black_box(body.as_bytes()))
            })
        });
        group.bench_function(format!("tokenizer/{name}"), |b| {
            b.iter(|| tokenize(std::hint::black_box(body.as_bytes())))
        });
        group.bench_function(format!("byte-scan/{name}"), |b| {
            b.iter(|| memchr::memchr_iter(b'<', std::hint::black_box(body.as_bytes())).count())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
