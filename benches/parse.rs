//! Multistatus parsing throughput on 10,000-response bodies (plain WebDAV and Nextcloud-style, 10 % of the
//! files locked), next to quick-xml's tokenizer alone (what any parser reading through quick-xml's reader
//! pays; the parser's fast scan reads documents like these without it) and a plain byte scan of the same
//! buffer (the ceiling of anything that reads every byte).
//!
//! Times are the CPU time of the benchmarking thread where Linux reports it (`/proc/thread-self/schedstat`),
//! wall time elsewhere: on a shared machine wall time also counts the time other processes had the CPU,
//! which moved results by a factor of two between runs minutes apart.
//!
//! Run: `cargo bench --bench parse` (or `scripts/bench`).

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::fmt::Write;
use std::sync::OnceLock;
use std::time::Instant;

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

/// quick-xml's tokenizer alone, every event read and dropped: what a parser reading through it pays
/// before it looks at a single name.
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

/// Nanoseconds of CPU time the calling thread has used, or of wall time since the first call where the
/// system does not say.
fn thread_time_ns() -> u64 {
    let cpu = std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|stat| stat.split_whitespace().next()?.parse().ok());
    cpu.unwrap_or_else(|| {
        static START: OnceLock<Instant> = OnceLock::new();
        let elapsed = START.get_or_init(Instant::now).elapsed();
        u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
    })
}

/// Criterion measurement of [`thread_time_ns`].
struct ThreadTime;

impl Measurement for ThreadTime {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        thread_time_ns()
    }
    fn end(&self, start: u64) -> u64 {
        thread_time_ns().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &Nanoseconds
    }
}

/// Formats nanoseconds and bytes per nanosecond as criterion does for wall time.
struct Nanoseconds;

impl ValueFormatter for Nanoseconds {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = match typical {
            t if t < 1e3 => (1.0, "ns"),
            t if t < 1e6 => (1e-3, "µs"),
            t if t < 1e9 => (1e-6, "ms"),
            _ => (1e-9, "s"),
        };
        values.iter_mut().for_each(|v| *v *= factor);
        unit
    }

    fn scale_throughputs(
        &self,
        typical: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let per_iteration = match throughput {
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) | Throughput::Elements(n) => {
                *n as f64
            }
            Throughput::Bits(n) => *n as f64 / 8.0,
            Throughput::ElementsAndBytes { bytes, .. } => *bytes as f64,
        };
        let per_second = per_iteration * 1e9 / typical;
        let (divisor, unit) = match per_second {
            r if r < 1024.0 * 1024.0 => (1024.0, "KiB/s"),
            r if r < 1024.0 * 1024.0 * 1024.0 => (1024.0 * 1024.0, "MiB/s"),
            _ => (1024.0 * 1024.0 * 1024.0, "GiB/s"),
        };
        values
            .iter_mut()
            .for_each(|v| *v = per_iteration * 1e9 / *v / divisor);
        unit
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

fn bench(c: &mut Criterion<ThreadTime>) {
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

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadTime);
    targets = bench
}
criterion_main!(benches);
