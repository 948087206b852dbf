//! The benchmarks' shared workload: 10 folders, 10,000 files, 1,000 of them locked by another user — 900
//! single locks (two thirds exclusive, one third shared) in nine folders and one depth-infinity lock on the
//! tenth folder's 100 files.

use std::time::Duration;

/// Users of the Apache harness.
pub const USERS: &[(&str, &str)] = &[("alice", "alice-pw-1"), ("bob", "bob-pw-2")];
pub const FOLDERS: usize = 10;

/// The files of folder `f`: 1,100 in the first nine, 100 in the last.
pub fn files_in(folder: usize) -> usize {
    if folder == FOLDERS - 1 { 100 } else { 1100 }
}

pub fn folder(f: usize) -> String {
    format!("f{f:02}/")
}

pub fn file(f: usize, i: usize) -> String {
    format!("f{f:02}/doc{i:04}.txt")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(32)
        .build()
        .expect("client")
}

pub async fn send(
    client: &reqwest::Client,
    method: &str,
    url: String,
    user: Option<(&str, &str)>,
    headers: &[(&str, &str)],
    body: String,
) -> u16 {
    let mut req = client
        .request(
            reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
            url,
        )
        .body(body);
    if let Some((u, p)) = user {
        req = req.basic_auth(u, Some(p));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.map(|r| r.status().as_u16()).unwrap_or(0)
}

pub fn lockinfo(scope: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:{scope}/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner><D:href>mailto:bob@example.com</D:href></D:owner></D:lockinfo>"#
    )
}

/// Locks 100 files in each of the first nine folders and the last folder as a whole, as bob.
pub async fn take_locks(base: &str, bob: Option<(&str, &str)>) {
    let client = client();
    let mut jobs = Vec::new();
    for f in 0..FOLDERS - 1 {
        for i in (0..files_in(f)).step_by(11) {
            let scope = if i % 3 == 0 { "shared" } else { "exclusive" };
            jobs.push((format!("{base}{}", file(f, i)), "0", lockinfo(scope)));
        }
    }
    jobs.push((
        format!("{base}{}", folder(FOLDERS - 1)),
        "infinity",
        lockinfo("exclusive"),
    ));
    // One at a time, with retries: Apache's lock database does not take concurrent writers well.
    let per_worker = jobs.len();
    let statuses = futures_util::future::join_all(jobs.chunks(per_worker).map(|chunk| {
        let client = client.clone();
        let chunk = chunk.to_vec();
        async move {
            let mut out = Vec::new();
            for (url, depth, body) in chunk {
                let mut status = 0;
                // A busy machine makes Apache's lock database refuse more often: up to ~6 s per lock.
                for attempt in 1..=20u64 {
                    let headers = [
                        ("Depth", depth),
                        ("Timeout", "Second-3600"),
                        ("Content-Type", "application/xml"),
                    ];
                    status = send(&client, "LOCK", url.clone(), bob, &headers, body.clone()).await;
                    if status == 200 || status == 201 {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(30 * attempt)).await;
                }
                out.push(status);
            }
            out
        }
    }))
    .await;
    let ok = statuses
        .iter()
        .flatten()
        .filter(|s| **s == 200 || **s == 201)
        .count();
    let failed: Vec<&u16> = statuses
        .iter()
        .flatten()
        .filter(|s| **s != 200 && **s != 201)
        .collect();
    assert_eq!(ok, 901, "every lock was taken; failed with: {failed:?}");
}

/// Fills an Apache harness with the workload's files and has bob take its locks.
pub fn populate_apache(server: &crate::apache::Apache, rt: &tokio::runtime::Runtime) {
    for f in 0..FOLDERS {
        server.create_dir(&folder(f));
        for i in 0..files_in(f) {
            server.create_file(&file(f, i), b"x");
        }
    }
    rt.block_on(take_locks(&server.base_url(), Some(USERS[1])));
}
