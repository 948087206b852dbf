//! Asking a lock's holder to release a file: Nextcloud Talk and comments (emulator), a real webhook
//! receiver, `mailto:` links, the rate limit on injected time, and the cases where nobody can be asked.

use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use lockwatch::ErrorKind;
use lockwatch::ask::{AskLog, AskRequest, MemoryAskLog, ask};
use lockwatch::config::Config;
use lockwatch::model::AskChannel;
use lockwatch::protocol::Server;
use lockwatch::secrets::MemoryStore;
use url::Url;

use crate::support::davops::{self, LockSpec};
use crate::support::nextcloud::{NcLock, Nextcloud, Options};
use crate::support::wopi::WopiHost;
use crate::support::{ALICE, BOB, DavServer, Receiver, both, config, lockwatch, write_config};

async fn connect(config: &Config) -> Server {
    Server::connect(config.servers[0].clone(), Arc::new(MemoryStore::new()))
        .await
        .unwrap()
}

fn request<'a>(path: &'a str, via: Option<AskChannel>) -> AskRequest<'a> {
    AskRequest {
        path,
        via,
        message: None,
        requester: "Alice Smith",
    }
}

fn user_lock(owner: &str, display: &str) -> NcLock {
    NcLock {
        owner_type: 0,
        owner: owner.into(),
        display_name: display.into(),
        editor: None,
        time: Utc::now().timestamp(),
        timeout: 0,
        token: "files_lock/1".into(),
    }
}

fn nextcloud(talk: bool) -> (Nextcloud, Config) {
    let nc = Nextcloud::start_with(Options {
        talk,
        ..Options::default()
    });
    nc.add_file("Budget.xlsx", "alice");
    nc.add_file("Notes.md", "alice");
    nc.set_lock("Budget.xlsx", user_lock("bob", "Bob Builder"));
    let config = config(&format!(
        "[[servers]]\nname = \"cloud\"\nkind = \"nextcloud\"\nurl = \"{}\"\nusername = \"alice\"\npassword_env = \"PW_ALICE\"\nwatch = [\"Budget.xlsx\"]\n",
        nc.dav_url("alice")
    ));
    (nc, config)
}

/// Talk first when installed; the holder gets a private message; a second request within the interval is
/// refused; after the interval it goes out again.
#[tokio::test]
async fn talk_message_and_rate_limit() {
    let (nc, config) = nextcloud(true);
    let server = connect(&config).await;
    let log = MemoryAskLog::default();
    let now = Utc::now();

    let outcome = ask(&server, &config, &log, request("Budget.xlsx", None), now).await;
    assert!(outcome.ok, "{outcome:#?}");
    assert_eq!(outcome.channel, Some(AskChannel::Talk));
    assert_eq!(
        outcome.message,
        "Sent Bob Builder a Talk message about Budget.xlsx."
    );
    let chat = nc.chat_messages();
    assert_eq!(chat.len(), 1);
    assert_eq!(chat[0].participants, ("alice".to_owned(), "bob".to_owned()));
    assert_eq!(chat[0].actor, "alice");
    assert!(
        chat[0]
            .message
            .starts_with("Hi Bob Builder, could you release Budget.xlsx"),
        "{}",
        chat[0].message
    );
    assert!(chat[0].message.contains("Alice Smith is waiting"));

    let again = ask(
        &server,
        &config,
        &log,
        request("Budget.xlsx", None),
        now + TimeDelta::minutes(14),
    )
    .await;
    assert!(!again.ok);
    assert_eq!(
        again.error.as_ref().map(|e| e.kind),
        Some(ErrorKind::Conflict)
    );
    assert!(
        again
            .message
            .contains("already asked about Budget.xlsx 14 min ago"),
        "{}",
        again.message
    );
    assert_eq!(nc.chat_messages().len(), 1, "nothing was sent");

    let later = ask(
        &server,
        &config,
        &log,
        request("Budget.xlsx", None),
        now + TimeDelta::minutes(16),
    )
    .await;
    assert!(later.ok, "{later:#?}");
    assert_eq!(nc.chat_messages().len(), 2);
    assert_eq!(
        nc.chat_messages()[1].room,
        chat[0].room,
        "the existing conversation is reused"
    );

    let records = log.all().unwrap();
    assert_eq!(
        records.iter().map(|r| r.ok).collect::<Vec<_>>(),
        [true, true],
        "refused requests are not sent, so not recorded"
    );
    assert!(
        records
            .iter()
            .all(|r| r.channel == AskChannel::Talk && r.holder_id == "bob")
    );
}

/// A comment mentions the holder by user id, quoted when the id has a space.
#[tokio::test]
async fn comment_mentions_the_holder() {
    let (nc, config) = nextcloud(false);
    nc.set_lock("Notes.md", user_lock("carol id", "Carol"));
    let server = connect(&config).await;
    let log = MemoryAskLog::default();

    let outcome = ask(
        &server,
        &config,
        &log,
        request("Notes.md", None),
        Utc::now(),
    )
    .await;
    assert!(outcome.ok, "{outcome:#?}");
    assert_eq!(
        outcome.channel,
        Some(AskChannel::Comment),
        "Talk is not installed"
    );
    assert!(
        outcome.message.contains("everyone who can see the file"),
        "{}",
        outcome.message
    );
    let comments = nc.comments();
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].file_id, nc.file_id("Notes.md"));
    assert!(
        comments[0].message.starts_with("@\"carol id\" Hi Carol,"),
        "{}",
        comments[0].message
    );

    let talk = ask(
        &server,
        &config,
        &log,
        request("Budget.xlsx", Some(AskChannel::Talk)),
        Utc::now(),
    )
    .await;
    assert!(!talk.ok);
    assert_eq!(
        talk.error.as_ref().map(|e| e.kind),
        Some(ErrorKind::Unsupported)
    );
    assert!(
        talk.message
            .contains("talk cannot reach Bob Builder here (possible: comment)"),
        "{}",
        talk.message
    );
}

/// A holder Talk does not know: the error says so.
#[tokio::test]
async fn talk_to_an_unknown_user_fails_clearly() {
    let (nc, config) = nextcloud(true);
    nc.set_lock("Notes.md", user_lock("ghost", "Former Colleague"));
    let server = connect(&config).await;
    let outcome = ask(
        &server,
        &config,
        &MemoryAskLog::default(),
        request("Notes.md", None),
        Utc::now(),
    )
    .await;
    assert!(!outcome.ok);
    assert_eq!(
        outcome.error.as_ref().map(|e| e.kind),
        Some(ErrorKind::NotFound)
    );
    assert!(
        outcome.message.contains("Talk cannot start a conversation"),
        "{}",
        outcome.message
    );
}

fn url(base: &str, path: &str) -> String {
    lockwatch::protocol::resource_url(&Url::parse(base).unwrap(), path).to_string()
}

/// A WebDAV lock by bob, a webhook receiver, and `via = ["webhook", "mail"]`.
async fn webdav_with_webhook(format: &str, status: u16) -> (DavServer, Receiver, Config) {
    let dav = DavServer::start();
    let base = dav.base_url();
    davops::put(&url(&base, "Plan – 2026.odt"), ALICE, b"x").await;
    let owner = Some("<D:href>mailto:zoë@example.com</D:href>".to_owned());
    davops::lock(
        &url(&base, "Plan – 2026.odt"),
        BOB,
        &LockSpec {
            owner_xml: owner,
            ..LockSpec::default()
        },
    )
    .await
    .unwrap();
    let receiver = Receiver::start(status);
    let config = config(&format!(
        "[[servers]]\nname = \"dav\"\nurl = \"{base}\"\nwatch = [\"Plan – 2026.odt\"]\n[servers.ask]\nvia = [\"webhook\", \"mail\"]\nwebhook_url = \"{}\"\nwebhook_format = \"{format}\"\n",
        receiver.url()
    ));
    (dav, receiver, config)
}

#[tokio::test]
async fn webhook_slack_and_generic_shapes() {
    let (_dav, receiver, config) = webdav_with_webhook("slack", 200).await;
    let server = connect(&config).await;
    let outcome = ask(
        &server,
        &config,
        &MemoryAskLog::default(),
        request("Plan – 2026.odt", None),
        Utc::now(),
    )
    .await;
    assert!(outcome.ok, "{outcome:#?}");
    assert_eq!(outcome.channel, Some(AskChannel::Webhook));
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 1);
    let text = bodies[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("Hi zoë@example.com, could you release Plan – 2026.odt"),
        "{text}"
    );
    assert_eq!(
        bodies[0].as_object().unwrap().len(),
        1,
        "Slack shape: only text"
    );
    assert!(!receiver.saw_credentials());

    let (_dav, receiver, config) = webdav_with_webhook("generic", 200).await;
    let server = connect(&config).await;
    assert!(
        ask(
            &server,
            &config,
            &MemoryAskLog::default(),
            request("Plan – 2026.odt", None),
            Utc::now()
        )
        .await
        .ok
    );
    let body = &receiver.bodies()[0];
    assert_eq!(body["file"], "Plan – 2026.odt");
    assert_eq!(body["holder"], "zoë@example.com");
    assert_eq!(body["holder_id"], "mailto:zoë@example.com");
    assert_eq!(body["requester"], "Alice Smith");
    assert_eq!(body["server"], "dav");
    assert!(
        body["url"]
            .as_str()
            .unwrap()
            .ends_with("/Plan%20%E2%80%93%202026.odt")
    );
}

#[tokio::test]
async fn webhook_errors_are_reported_without_its_url() {
    let (_dav, receiver, config) = webdav_with_webhook("slack", 404).await;
    let server = connect(&config).await;
    let log = MemoryAskLog::default();
    let outcome = ask(
        &server,
        &config,
        &log,
        request("Plan – 2026.odt", None),
        Utc::now(),
    )
    .await;
    assert!(!outcome.ok);
    assert!(
        outcome
            .message
            .contains("the webhook answered HTTP 404: ok; check its URL"),
        "{}",
        outcome.message
    );
    assert!(
        !outcome.message.contains("secret"),
        "the webhook URL is a secret: {}",
        outcome.message
    );
    assert_eq!(receiver.bodies().len(), 1);
    // A failed attempt is recorded but does not count towards the rate limit.
    assert_eq!(log.all().unwrap().len(), 1);
    let retry = ask(
        &server,
        &config,
        &log,
        request("Plan – 2026.odt", Some(AskChannel::Mail)),
        Utc::now(),
    )
    .await;
    assert!(retry.ok, "{retry:#?}");
    let link = retry.mailto.unwrap();
    assert!(
        link.starts_with("mailto:zo%C3%AB@example.com?subject=Could%20you%20release%20Plan%20%E2%80%93%202026.odt%3F&body=Hi%20zo%C3%AB%40example.com%2C%20could%20you"),
        "{link}"
    );
    assert!(!link.contains(' ') && !link.contains('+'), "{link}");
}

#[tokio::test]
async fn nobody_to_ask() {
    let dav = DavServer::start();
    let base = dav.base_url();
    davops::put(&url(&base, "Free.txt"), ALICE, b"x").await;
    davops::put(&url(&base, "Anon.txt"), ALICE, b"x").await;
    davops::lock(&url(&base, "Anon.txt"), BOB, &LockSpec::default())
        .await
        .unwrap();
    let config = config(&format!("[[servers]]\nname = \"dav\"\nurl = \"{base}\"\n"));
    let server = connect(&config).await;
    let log = MemoryAskLog::default();
    let free = ask(
        &server,
        &config,
        &log,
        request("Free.txt", None),
        Utc::now(),
    )
    .await;
    assert!(
        free.message
            .contains("Free.txt is not locked by anyone else"),
        "{}",
        free.message
    );
    let anon = ask(
        &server,
        &config,
        &log,
        request("Anon.txt", None),
        Utc::now(),
    )
    .await;
    assert!(
        anon.message.contains("does not say who holds it"),
        "{}",
        anon.message
    );

    let host = WopiHost::start();
    host.add_file("doc", "Doc.docx", "t");
    host.set_lock("doc", "cool-lock-1");
    let wopi = lockwatch::config::Config::parse(
        &format!("[[servers]]\nname = \"office\"\nkind = \"wopi\"\nurl = \"{}\"\naccess_token_env = \"T\"\nwatch = [\"doc\"]\n", host.base_url()),
        "t",
        &|_| Some("t".to_owned()),
    )
    .unwrap();
    let server = connect(&wopi).await;
    let outcome = ask(&server, &wopi, &log, request("doc", None), Utc::now()).await;
    assert_eq!(
        outcome.error.as_ref().map(|e| e.kind),
        Some(ErrorKind::Unsupported)
    );
    assert!(
        outcome
            .message
            .contains("WOPI does not reveal who holds a lock"),
        "{}",
        outcome.message
    );
    assert!(log.all().unwrap().is_empty());
}

/// The CLI remembers requests across runs: the second `lockwatch ask` within the interval is refused.
#[tokio::test]
async fn cli_ask_is_rate_limited_across_runs() {
    let (nc, _) = nextcloud(true);
    let home = tempfile::tempdir().unwrap();
    let cfg = write_config(
        home.path(),
        &format!(
            "owner = \"Alice Smith\"\n[[servers]]\nname = \"cloud\"\nurl = \"{}\"\nusername = \"alice\"\npassword_env = \"PW\"\nwatch = [\"Budget.xlsx\"]\n",
            nc.dav_url("alice")
        ),
    );
    let cfg = cfg.to_str().unwrap();
    let env = [("PW", ALICE.1)];
    let out = lockwatch(
        home.path(),
        &[
            "--config",
            cfg,
            "ask",
            "cloud",
            "Budget.xlsx",
            "--message",
            "Need it for the board meeting, thanks!",
        ],
        &env,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert_eq!(
        nc.chat_messages()[0].message,
        "Need it for the board meeting, thanks!"
    );
    let out = lockwatch(
        home.path(),
        &["--config", cfg, "ask", "cloud", "Budget.xlsx", "--json"],
        &env,
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], false);
    assert_eq!(json["error"]["kind"], "conflict");
    assert_eq!(nc.chat_messages().len(), 1);
    let out = lockwatch(
        home.path(),
        &[
            "--config",
            cfg,
            "ask",
            "cloud",
            "Budget.xlsx",
            "--via",
            "fax",
        ],
        &env,
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));

    // The request is in the history with its channel and outcome; the refused second one sent nothing.
    let out = lockwatch(
        home.path(),
        &["history", "cloud", "Budget.xlsx", "--json"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let history: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let requests = history["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 1, "{history:#}");
    assert_eq!(requests[0]["ok"], true);
    assert_eq!(requests[0]["channel"], "talk");
    assert_eq!(requests[0]["holder_id"], "bob");
    let out = lockwatch(home.path(), &["history"], &[]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Requests to release"), "{}", both(&out));
    assert!(
        text.contains("sent: Sent Bob Builder a Talk message"),
        "{text}"
    );
}
