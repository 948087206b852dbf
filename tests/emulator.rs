//! Self-tests of the Nextcloud emulator: the emulator is only useful if it behaves like the real server.

use crate::support::nextcloud::{NC_USERS, NcLock, Nextcloud, Options};

const PROPS: &str = r#"<?xml version="1.0"?>
<d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns">
  <d:prop><d:getetag/><d:resourcetype/><oc:fileid/><nc:lock/><nc:lock-owner-type/><nc:lock-owner/>
  <nc:lock-owner-displayname/><nc:lock-owner-editor/><nc:lock-time/><nc:lock-timeout/><nc:lock-token/>
  <d:lockdiscovery/><x:unknown xmlns:x="urn:example"/></d:prop>
</d:propfind>"#;

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

fn pw(user: &str) -> &'static str {
    NC_USERS
        .iter()
        .find(|u| u.0 == user)
        .map(|u| u.1)
        .expect("known user")
}

async fn call(
    url: &str,
    method: &str,
    user: Option<&str>,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let client = reqwest::Client::new();
    let mut rb = client.request(
        reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
        url,
    );
    if let Some(u) = user {
        rb = rb.basic_auth(u, Some(pw(u)));
    }
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    let resp = rb.body(body.to_string()).send().await.expect("request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.text().await.expect("body");
    Answer {
        status,
        headers,
        body,
    }
}

async fn dav(
    nc: &Nextcloud,
    method: &str,
    user: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    call(
        &format!("{}{}", nc.dav_url(user), path),
        method,
        Some(user),
        headers,
        body,
    )
    .await
}

async fn propfind(nc: &Nextcloud, user: &str, path: &str, depth: &str) -> Answer {
    dav(nc, "PROPFIND", user, path, &[("Depth", depth)], PROPS).await
}

/// The `<d:response>` for `href` in a multistatus body.
fn response_for<'a>(body: &'a str, href: &str) -> &'a str {
    let start = body
        .find(&format!("<d:href>{href}</d:href>"))
        .expect("href present");
    let end = body[start..].find("</d:response>").expect("response end") + start;
    &body[start..end]
}

fn scenario() -> (Nextcloud, u64) {
    let nc = Nextcloud::start();
    nc.add_folder("Reports/Old");
    let id = nc.add_file("Reports/Budget 2026.xlsx", "alice");
    nc.add_file("Reports/Notes.md", "bob");
    (nc, id)
}

fn lock(owner_type: u8, owner: &str, time: i64, timeout: i64) -> NcLock {
    NcLock {
        owner_type,
        owner: owner.into(),
        display_name: String::new(),
        editor: None,
        time,
        timeout,
        token: "files_lock/0f6c1b7e-1111-4222-8333-444455556666".into(),
    }
}

#[tokio::test]
async fn auth_is_required_and_checked() {
    let nc = Nextcloud::start();
    let a = call(
        &nc.dav_url("alice"),
        "PROPFIND",
        None,
        &[("Depth", "0")],
        "",
    )
    .await;
    assert_eq!(a.status, 401);
    assert_eq!(
        a.headers["www-authenticate"],
        "Basic realm=\"Nextcloud\", charset=\"UTF-8\""
    );
    assert!(
        a.body
            .contains("<d:error xmlns:d=\"DAV:\" xmlns:s=\"http://sabredav.org/ns\">")
    );
    assert!(
        a.body
            .contains("<s:exception>Sabre\\DAV\\Exception\\NotAuthenticated</s:exception>")
    );
    let client = reqwest::Client::new();
    let wrong = client
        .request(
            reqwest::Method::from_bytes(b"PROPFIND").expect("m"),
            nc.dav_url("alice"),
        )
        .basic_auth("alice", Some("nope"))
        .send()
        .await
        .expect("send");
    assert_eq!(wrong.status().as_u16(), 401);
    let ok = dav(&nc, "PROPFIND", "alice", "", &[("Depth", "0")], "").await;
    assert_eq!(ok.status, 207);
    let log = nc.requests();
    assert_eq!(log.len(), 3);
    assert_eq!(log[0].user, None);
    assert_eq!(log[1].user, None);
    assert_eq!(log[2].user.as_deref(), Some("alice"));
    assert_eq!(log[2].method, "PROPFIND");
    assert_eq!(log[2].path, "/remote.php/dav/files/alice/");
    assert_eq!(log[2].depth.as_deref(), Some("0"));
}

#[tokio::test]
async fn status_and_capabilities() {
    let nc = Nextcloud::start();
    let s = call(
        &format!("{}/status.php", nc.base_url()),
        "GET",
        None,
        &[],
        "",
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&s.body).expect("json");
    assert_eq!(v["productname"], "Nextcloud");
    assert_eq!(v["installed"], true);
    let url = format!(
        "{}/ocs/v2.php/cloud/capabilities?format=json",
        nc.base_url()
    );
    let c = call(&url, "GET", None, &[("OCS-APIRequest", "true")], "").await;
    assert_eq!(c.status, 200);
    let v: serde_json::Value = serde_json::from_str(&c.body).expect("json");
    assert_eq!(v["ocs"]["meta"]["status"], "ok");
    assert_eq!(v["ocs"]["meta"]["statuscode"], 200);
    assert_eq!(v["ocs"]["data"]["capabilities"]["files"]["locking"], "1.0");
    assert_eq!(
        v["ocs"]["data"]["capabilities"]["files"]["api-feature-lock-type"],
        true
    );
    assert!(
        v["ocs"]["data"]["capabilities"]
            .get("notify_push")
            .is_none()
    );
    let authed = call(&url, "GET", Some("bob"), &[("OCS-APIRequest", "true")], "").await;
    assert_eq!(authed.status, 200);

    let old = Nextcloud::start_with(Options {
        lock_type_feature: false,
        notify_push: true,
        ..Options::default()
    });
    let c = call(
        &format!(
            "{}/ocs/v2.php/cloud/capabilities?format=json",
            old.base_url()
        ),
        "GET",
        None,
        &[("OCS-APIRequest", "true")],
        "",
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&c.body).expect("json");
    let files = &v["ocs"]["data"]["capabilities"]["files"];
    assert_eq!(files["locking"], "1.0");
    assert!(files.get("api-feature-lock-type").is_none());
    let ws = v["ocs"]["data"]["capabilities"]["notify_push"]["endpoints"]["websocket"]
        .as_str()
        .expect("ws");
    assert!(ws.starts_with("ws://127.0.0.1:") && ws.ends_with("/push/ws"));

    let none = Nextcloud::start_with(Options {
        files_lock: false,
        ..Options::default()
    });
    let c = call(
        &format!("{}/ocs/v2.php/cloud/capabilities", none.base_url()),
        "GET",
        None,
        &[("OCS-APIRequest", "true"), ("Accept", "application/json")],
        "",
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&c.body).expect("json");
    assert!(
        v["ocs"]["data"]["capabilities"]["files"]
            .get("locking")
            .is_none()
    );
}

#[tokio::test]
async fn options_advertises_class_2() {
    let nc = Nextcloud::start();
    let a = dav(&nc, "OPTIONS", "alice", "", &[], "").await;
    assert_eq!(a.status, 200);
    let dav_hdr = a.headers["dav"].to_str().expect("ascii");
    assert!(dav_hdr.starts_with("1, 3, extended-mkcol"));
    assert!(dav_hdr.split(", ").any(|t| t == "2"));
    assert_eq!(a.headers["ms-author-via"], "DAV");
    assert!(a.headers["allow"].to_str().expect("ascii").contains("LOCK"));
}

#[tokio::test]
async fn propfind_file_unlocked_and_locked() {
    let (nc, id) = scenario();
    let a = propfind(&nc, "alice", "Reports/Budget%202026.xlsx", "0").await;
    assert_eq!(a.status, 207);
    assert!(a.body.starts_with("<?xml version=\"1.0\"?>\n<d:multistatus xmlns:d=\"DAV:\" xmlns:s=\"http://sabredav.org/ns\" xmlns:oc=\"http://owncloud.org/ns\" xmlns:nc=\"http://nextcloud.org/ns\"><d:response><d:href>/remote.php/dav/files/alice/Reports/Budget%202026.xlsx</d:href>"));
    assert!(a.body.contains("<nc:lock></nc:lock>"));
    assert!(a.body.contains(&format!("<oc:fileid>{id}</oc:fileid>")));
    assert!(a.body.contains("<d:resourcetype/>"));
    assert!(a.body.contains("<d:lockdiscovery/>"));
    // unset lock props and the unknown prop land in the 404 propstat, after the 200 one
    let not_found = &a.body[a.body.find("HTTP/1.1 200 OK").expect("200")..];
    assert!(not_found.contains("<nc:lock-owner/><nc:lock-owner-displayname/>"));
    assert!(not_found.contains("<x1:unknown xmlns:x1=\"urn:example\"/>"));
    assert!(not_found.contains("<d:status>HTTP/1.1 404 Not Found</d:status>"));
    let etag_before = a
        .body
        .split("<d:getetag>")
        .nth(1)
        .expect("etag")
        .split('<')
        .next()
        .expect("etag")
        .to_string();
    assert!(etag_before.starts_with("&quot;"));

    let t = nc.now() - 10;
    nc.set_lock(
        "Reports/Budget 2026.xlsx",
        NcLock {
            display_name: "ignored for known users".into(),
            ..lock(0, "bob", t, 0)
        },
    );
    let b = propfind(&nc, "alice", "Reports/Budget%202026.xlsx", "0").await;
    assert!(b.body.contains("<nc:lock>1</nc:lock><nc:lock-owner-type>0</nc:lock-owner-type><nc:lock-owner>bob</nc:lock-owner><nc:lock-owner-displayname>Bob Builder</nc:lock-owner-displayname>"));
    assert!(b.body.contains(&format!("<nc:lock-time>{t}</nc:lock-time><nc:lock-timeout>0</nc:lock-timeout><nc:lock-token>files_lock/")));
    assert!(
        b.body.contains("<d:activelock>"),
        "another user's lock is in lockdiscovery"
    );
    assert!(b.body.contains("<d:timeout>Second-0</d:timeout>"));
    assert!(
        b.body.contains("<nc:lock-owner-editor/>"),
        "editor is 404 for user locks"
    );
    let etag_after = b
        .body
        .split("<d:getetag>")
        .nth(1)
        .expect("etag")
        .split('<')
        .next()
        .expect("etag")
        .to_string();
    assert_ne!(etag_before, etag_after, "locking changes the etag");

    // the holder does not see their own user lock in lockdiscovery
    let own = propfind(&nc, "bob", "Reports/Budget%202026.xlsx", "0").await;
    assert!(own.body.contains("<nc:lock>1</nc:lock>"));
    assert!(own.body.contains("<d:lockdiscovery/>"));
    assert!(
        own.body
            .contains("<d:href>/remote.php/dav/files/bob/Reports/Budget%202026.xlsx</d:href>")
    );

    // app lock: no lock-owner, editor = app id, display name as stored
    nc.set_lock(
        "Reports/Notes.md",
        NcLock {
            display_name: "Nextcloud Office".into(),
            editor: Some("richdocuments".into()),
            ..lock(1, "richdocuments", t, 3600)
        },
    );
    let c = propfind(&nc, "alice", "Reports/Notes.md", "0").await;
    assert!(c.body.contains("<nc:lock-owner-type>1</nc:lock-owner-type><nc:lock-owner-displayname>Nextcloud Office</nc:lock-owner-displayname><nc:lock-owner-editor>richdocuments</nc:lock-owner-editor>"));
    assert!(c.body.contains("<nc:lock-owner/>"));
    assert_eq!(
        nc.lock_of("Reports/Notes.md").map(|l| l.owner),
        Some("richdocuments".into())
    );
}

#[tokio::test]
async fn propfind_depth_one_folder() {
    let (nc, _) = scenario();
    nc.set_lock("Reports/Budget 2026.xlsx", lock(0, "bob", nc.now(), -60));
    let a = propfind(&nc, "alice", "Reports/", "1").await;
    assert_eq!(a.status, 207);
    let folder = response_for(&a.body, "/remote.php/dav/files/alice/Reports/");
    assert!(folder.contains("<d:resourcetype><d:collection/></d:resourcetype>"));
    let folder_404 = &folder[folder.find("HTTP/1.1 200 OK").expect("200")..];
    assert!(
        folder_404.contains("<nc:lock/>"),
        "the listed folder's own nc:lock is 404: {folder}"
    );
    let sub = response_for(&a.body, "/remote.php/dav/files/alice/Reports/Old/");
    assert!(
        sub.contains("<nc:lock></nc:lock>"),
        "member folders report nc:lock"
    );
    let file = response_for(
        &a.body,
        "/remote.php/dav/files/alice/Reports/Budget%202026.xlsx",
    );
    assert!(file.contains("<nc:lock>1</nc:lock>"));
    assert!(file.contains("<nc:lock-timeout>-60</nc:lock-timeout>"));
    assert!(file.contains("<d:timeout>Second--60</d:timeout>"));
    assert!(
        response_for(&a.body, "/remote.php/dav/files/alice/Reports/Notes.md")
            .contains("<nc:lock></nc:lock>")
    );
    assert_eq!(a.body.matches("<d:response>").count(), 4);

    // Depth: infinity is served as Depth 1 (Sabre without enablePropfindDepthInfinity)
    let inf = propfind(&nc, "alice", "", "infinity").await;
    assert_eq!(inf.status, 207);
    assert_eq!(inf.body.matches("<d:response>").count(), 2);
    let log = nc.requests();
    assert_eq!(log.iter().filter(|r| r.method == "PROPFIND").count(), 2);
    assert_eq!(log[1].depth.as_deref(), Some("infinity"));
}

#[tokio::test]
async fn propfind_allprop_errors_and_foreign_roots() {
    let (nc, _) = scenario();
    nc.set_lock("Reports/Notes.md", lock(0, "bob", nc.now(), 0));
    let all = dav(
        &nc,
        "PROPFIND",
        "alice",
        "Reports/Notes.md",
        &[("Depth", "0")],
        "",
    )
    .await;
    assert_eq!(all.status, 207);
    assert!(
        all.body.contains("<d:getlastmodified>") && all.body.contains("GMT</d:getlastmodified>")
    );
    assert!(
        all.body
            .contains("<d:getcontenttype>text/markdown</d:getcontenttype>")
    );
    assert!(
        !all.body.contains("nc:lock"),
        "allprop has no nc lock props"
    );
    assert!(!all.body.contains("404 Not Found"));
    let explicit = dav(
        &nc,
        "PROPFIND",
        "alice",
        "",
        &[("Depth", "0")],
        r#"<d:propfind xmlns:d="DAV:"><d:allprop/></d:propfind>"#,
    )
    .await;
    assert!(explicit.body.contains("<d:quota-used-bytes>"));

    let bad = dav(
        &nc,
        "PROPFIND",
        "alice",
        "",
        &[("Depth", "0")],
        "<d:propfind xmlns:d=\"DAV:\"><d:prop>",
    )
    .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("Sabre\\DAV\\Exception\\BadRequest"));
    let wrong_root = dav(&nc, "PROPFIND", "alice", "", &[("Depth", "0")], "<x/>").await;
    assert_eq!(wrong_root.status, 400);
    let garbage = dav(
        &nc,
        "LOCK",
        "alice",
        "Reports/Budget%202026.xlsx",
        &[],
        "<<<not xml",
    )
    .await;
    assert_eq!(garbage.status, 400);

    let missing = propfind(&nc, "alice", "Nope.txt", "0").await;
    assert_eq!(missing.status, 404);
    assert!(
        missing
            .body
            .contains("<s:exception>Sabre\\DAV\\Exception\\NotFound</s:exception>")
    );

    // another user's root is an empty collection; below it everything is 404
    let foreign = propfind(&nc, "alice", "", "1").await;
    assert_eq!(foreign.status, 207);
    let other = call(
        &format!("{}Reports/", nc.dav_url("bob")),
        "PROPFIND",
        Some("alice"),
        &[("Depth", "1")],
        PROPS,
    )
    .await;
    assert_eq!(other.status, 404);
    let other_root = call(
        &nc.dav_url("bob"),
        "PROPFIND",
        Some("alice"),
        &[("Depth", "1")],
        PROPS,
    )
    .await;
    assert_eq!(other_root.status, 207);
    assert_eq!(other_root.body.matches("<d:response>").count(), 1);

    // user ids with spaces are percent-encoded in URLs and hrefs
    assert!(
        nc.dav_url("carol id")
            .ends_with("/remote.php/dav/files/carol%20id/")
    );
    let carol = propfind(&nc, "carol id", "", "0").await;
    assert_eq!(carol.status, 207);
    assert!(
        carol
            .body
            .contains("<d:href>/remote.php/dav/files/carol%20id/</d:href>")
    );
    assert_eq!(
        nc.requests().last().and_then(|r| r.user.clone()).as_deref(),
        Some("carol id")
    );
}

#[tokio::test]
async fn x_user_lock_and_unlock() {
    let (nc, _) = scenario();
    let path = "Reports/Budget%202026.xlsx";
    let a = dav(&nc, "LOCK", "bob", path, &[("X-User-Lock", "1")], "").await;
    assert_eq!(a.status, 200);
    assert!(a.body.starts_with("<?xml version=\"1.0\"?>\n<d:prop xmlns:d=\"DAV:\" xmlns:s=\"http://sabredav.org/ns\" xmlns:oc=\"http://owncloud.org/ns\" xmlns:nc=\"http://nextcloud.org/ns\">\n <d:getetag>&quot;"));
    assert!(a.body.contains(" <nc:lock>1</nc:lock>\n <nc:lock-owner-type>0</nc:lock-owner-type>\n <nc:lock-owner>bob</nc:lock-owner>\n <nc:lock-owner-displayname>Bob Builder</nc:lock-owner-displayname>\n <nc:lock-owner-editor>bob</nc:lock-owner-editor>\n"));
    assert!(a.body.contains("<nc:lock-timeout>-60</nc:lock-timeout>"));
    let l = nc.lock_of("Reports/Budget 2026.xlsx").expect("locked");
    assert_eq!(
        (l.owner_type, l.owner.as_str(), l.time),
        (0, "bob", nc.now())
    );
    assert!(l.token.starts_with("files_lock/"));

    // refresh by the holder keeps time and token
    let again = dav(&nc, "LOCK", "bob", path, &[("X-User-Lock", "1")], "").await;
    assert_eq!(again.status, 200);
    assert_eq!(
        nc.lock_of("Reports/Budget 2026.xlsx").map(|x| x.token),
        Some(l.token.clone())
    );

    // someone else: 423 with the existing lock
    let c = dav(&nc, "LOCK", "carol id", path, &[("X-User-Lock", "1")], "").await;
    assert_eq!(c.status, 423);
    assert!(c.body.contains("<nc:lock-owner>bob</nc:lock-owner>"));
    let u = dav(&nc, "UNLOCK", "carol id", path, &[("X-User-Lock", "1")], "").await;
    assert_eq!(u.status, 423);
    assert!(u.body.contains("<nc:lock-owner>bob</nc:lock-owner>"));
    // the file owner (alice) may release it
    let o = dav(&nc, "UNLOCK", "alice", path, &[("X-User-Lock", "1")], "").await;
    assert_eq!(o.status, 200);
    assert!(
        o.body
            .contains(" <nc:lock></nc:lock>\n <nc:lock-owner-type/>\n")
    );
    assert_eq!(nc.lock_of("Reports/Budget 2026.xlsx"), None);
    let not_locked = dav(&nc, "UNLOCK", "alice", path, &[("X-User-Lock", "1")], "").await;
    assert_eq!(not_locked.status, 412);

    // lock type header; a token-type lock by bob is released by bob
    let t = dav(
        &nc,
        "LOCK",
        "bob",
        path,
        &[("X-User-Lock", "1"), ("X-User-Lock-Type", "2")],
        "",
    )
    .await;
    assert!(
        t.body
            .contains("<nc:lock-owner-type>2</nc:lock-owner-type>")
    );
    assert_eq!(
        dav(
            &nc,
            "UNLOCK",
            "carol id",
            path,
            &[("X-User-Lock", "1"), ("X-User-Lock-Type", "2")],
            ""
        )
        .await
        .status,
        423
    );
    assert_eq!(
        dav(
            &nc,
            "UNLOCK",
            "bob",
            path,
            &[("X-User-Lock", "1"), ("X-User-Lock-Type", "2")],
            ""
        )
        .await
        .status,
        200
    );
    assert_eq!(
        dav(
            &nc,
            "LOCK",
            "bob",
            path,
            &[("X-User-Lock", "1"), ("X-User-Lock-Type", "9")],
            ""
        )
        .await
        .status,
        400
    );
    assert_eq!(
        dav(&nc, "LOCK", "bob", "Reports/", &[("X-User-Lock", "1")], "")
            .await
            .status,
        403
    );
    assert_eq!(
        dav(
            &nc,
            "LOCK",
            "bob",
            "Missing.txt",
            &[("X-User-Lock", "1")],
            ""
        )
        .await
        .status,
        404
    );
}

#[tokio::test]
async fn conflict_status_500_and_lock_type_ignored_without_feature() {
    let nc = Nextcloud::start_with(Options {
        conflict_status: 500,
        lock_type_feature: false,
        ..Options::default()
    });
    let id = nc.add_file("a.txt", "alice");
    assert_eq!(
        dav(
            &nc,
            "LOCK",
            "alice",
            "a.txt",
            &[("X-User-Lock", "1"), ("X-User-Lock-Type", "2")],
            ""
        )
        .await
        .status,
        200
    );
    assert_eq!(nc.lock_of("a.txt").map(|l| l.owner_type), Some(0));
    let c = dav(&nc, "LOCK", "bob", "a.txt", &[("X-User-Lock", "1")], "").await;
    assert_eq!(c.status, 500);
    let url = format!(
        "{}/ocs/v2.php/apps/files_lock/lock/{id}?format=json",
        nc.base_url()
    );
    let o = call(&url, "PUT", Some("bob"), &[("OCS-APIRequest", "true")], "").await;
    assert_eq!(o.status, 500);
    let v: serde_json::Value = serde_json::from_str(&o.body).expect("json");
    assert_eq!(v["ocs"]["data"]["status"], -1);
}

#[tokio::test]
async fn native_webdav_token_locks() {
    let (nc, _) = scenario();
    let path = "Reports/Notes.md";
    let body = r#"<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner><D:href>mailto:bob@example.com</D:href></D:owner></D:lockinfo>"#;
    let a = dav(
        &nc,
        "LOCK",
        "bob",
        path,
        &[("Timeout", "Second-600"), ("Depth", "0")],
        body,
    )
    .await;
    assert_eq!(a.status, 200);
    let token_hdr = a.headers["lock-token"].to_str().expect("ascii").to_string();
    assert!(token_hdr.starts_with("<opaquelocktoken:") && token_hdr.ends_with('>'));
    assert!(a.body.contains("<d:lockdiscovery>\n  <d:activelock>"));
    assert!(a.body.contains("<d:timeout>Second-600</d:timeout>"));
    assert!(a.body.contains("<d:depth>0</d:depth>"));
    let l = nc.lock_of(path).expect("locked");
    assert_eq!((l.owner_type, l.owner.as_str(), l.timeout), (2, "bob", 600));
    assert_eq!(format!("<opaquelocktoken:{}>", l.token), token_hdr);
    assert!(!l.token.starts_with("files_lock/"));

    let p = propfind(&nc, "alice", path, "0").await;
    assert!(
        p.body
            .contains("<nc:lock-owner-type>2</nc:lock-owner-type>")
    );
    assert!(
        p.body
            .contains(&format!("<nc:lock-token>{}</nc:lock-token>", l.token))
    );

    // a second native lock conflicts
    let c = dav(&nc, "LOCK", "alice", path, &[], body).await;
    assert_eq!(c.status, 423);
    assert!(c.body.contains("<d:no-conflicting-lock>"));
    // refresh with If
    let if_hdr = format!("({token_hdr})");
    let r = dav(
        &nc,
        "LOCK",
        "bob",
        path,
        &[("If", if_hdr.as_str()), ("Timeout", "Second-1200")],
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(nc.lock_of(path).map(|l| l.timeout), Some(1200));
    // wrong token → 409, right one → 204
    let w = dav(
        &nc,
        "UNLOCK",
        "bob",
        path,
        &[("Lock-Token", "<opaquelocktoken:nope>")],
        "",
    )
    .await;
    assert_eq!(w.status, 409);
    let ok = dav(
        &nc,
        "UNLOCK",
        "alice",
        path,
        &[("Lock-Token", token_hdr.as_str())],
        "",
    )
    .await;
    assert_eq!(ok.status, 204);
    assert_eq!(nc.lock_of(path), None);
}

#[tokio::test]
async fn ocs_lock_endpoints() {
    let (nc, id) = scenario();
    let url = format!(
        "{}/ocs/v2.php/apps/files_lock/lock/{id}?format=json",
        nc.base_url()
    );
    let csrf = call(&url, "PUT", Some("bob"), &[], "").await;
    assert_eq!(csrf.status, 412);
    let a = call(&url, "PUT", Some("bob"), &[("OCS-APIRequest", "true")], "").await;
    assert_eq!(a.status, 200);
    let v: serde_json::Value = serde_json::from_str(&a.body).expect("json");
    assert_eq!(v["ocs"]["meta"]["statuscode"], 200);
    assert_eq!(v["ocs"]["data"]["userId"], "bob");
    assert_eq!(v["ocs"]["data"]["fileId"], id);
    assert_eq!(v["ocs"]["data"]["type"], 0);
    assert_eq!(v["ocs"]["data"]["eta"], -1);
    let c = call(
        &url,
        "PUT",
        Some("carol id"),
        &[("OCS-APIRequest", "true")],
        "",
    )
    .await;
    assert_eq!(c.status, 423);
    let v: serde_json::Value = serde_json::from_str(&c.body).expect("json");
    assert_eq!(
        v["ocs"]["meta"]["message"],
        "File is currently locked by Bob Builder"
    );
    assert_eq!(v["ocs"]["data"]["userId"], "bob");
    assert_eq!(
        call(
            &url,
            "DELETE",
            Some("carol id"),
            &[("OCS-APIRequest", "true")],
            ""
        )
        .await
        .status,
        423
    );
    assert_eq!(
        call(
            &url,
            "DELETE",
            Some("bob"),
            &[("OCS-APIRequest", "true")],
            ""
        )
        .await
        .status,
        200
    );
    let n = call(
        &url,
        "DELETE",
        Some("bob"),
        &[("OCS-APIRequest", "true")],
        "",
    )
    .await;
    assert_eq!(n.status, 412);
    let v: serde_json::Value = serde_json::from_str(&n.body).expect("json");
    assert_eq!(v["ocs"]["meta"]["message"], "File is not locked");
    // XML flavour and lockType
    let x = call(
        &format!("{}/ocs/v2.php/apps/files_lock/lock/{id}", nc.base_url()),
        "PUT",
        Some("alice"),
        &[("OCS-APIRequest", "true")],
        "lockType=1",
    )
    .await;
    assert_eq!(x.status, 200);
    assert!(x.body.contains("<statuscode>200</statuscode>") && x.body.contains("<type>1</type>"));
    let unauth = call(&url, "PUT", None, &[("OCS-APIRequest", "true")], "").await;
    assert_eq!(unauth.status, 401);
}

#[tokio::test]
async fn locks_expire_on_read() {
    let (nc, _) = scenario();
    nc.stop_clock();
    let t = nc.now();
    nc.set_lock("Reports/Notes.md", lock(0, "bob", t, 300));
    nc.advance(299);
    assert!(nc.lock_of("Reports/Notes.md").is_some());
    let p = propfind(&nc, "alice", "Reports/Notes.md", "0").await;
    assert!(p.body.contains("<nc:lock>1</nc:lock>"));
    let etag = p
        .body
        .split("<d:getetag>")
        .nth(1)
        .and_then(|t| t.split('<').next())
        .map(str::to_string);
    nc.advance(1);
    assert_eq!(nc.now(), t + 300);
    let q = propfind(&nc, "alice", "Reports/Notes.md", "0").await;
    assert!(q.body.contains("<nc:lock></nc:lock>"));
    assert_eq!(
        q.body
            .split("<d:getetag>")
            .nth(1)
            .and_then(|t| t.split('<').next())
            .map(str::to_string),
        etag,
        "expiry does not touch the etag"
    );
    assert_eq!(nc.lock_of("Reports/Notes.md"), None);
    // never-expiring locks stay
    nc.set_lock("Reports/Notes.md", lock(0, "bob", t, -60));
    nc.advance(1_000_000);
    assert!(nc.lock_of("Reports/Notes.md").is_some());
    nc.clear_lock("Reports/Notes.md");
    assert_eq!(nc.lock_of("Reports/Notes.md"), None);
}

#[tokio::test]
async fn concurrent_requests_and_clean_shutdown() {
    let (nc, _) = scenario();
    let base = nc.base_url();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let user = if i % 2 == 0 { "alice" } else { "bob" };
        let url = format!("{}{}", nc.dav_url(user), "Reports/");
        tasks.push(tokio::spawn(async move {
            call(&url, "PROPFIND", Some(user), &[("Depth", "1")], PROPS)
                .await
                .status
        }));
    }
    for t in tasks {
        assert_eq!(t.await.expect("join"), 207);
    }
    assert_eq!(nc.requests().len(), 16);
    drop(nc);
    let after = reqwest::Client::new()
        .get(format!("{base}/status.php"))
        .send()
        .await;
    assert!(after.is_err(), "server is gone after drop");
}
