//! Asking a lock's holder to release the file: one polite, traceable request that reaches them where
//! they are.
//!
//! Four channels: a Nextcloud Talk one-to-one message (private), a Nextcloud file comment that mentions the
//! holder (Nextcloud notifies them; everyone who can see the file sees the comment), an e-mail written in
//! the user's own mail client (a `mailto:` link: Lockwatch sends no mail itself), and a webhook (Slack,
//! Mattermost, Rocket.Chat incoming webhooks, or a generic JSON shape). Talk and comments are the server's
//! ([`crate::protocol::LockSource::send_ask`]); mail and webhooks are built here.
//!
//! A request needs a known holder: WOPI locks name none, and Lockwatch says so rather than guess. At most
//! one request per file and holder goes out per interval (15 minutes by default), so a nervous
//! double-click does not spam a colleague; every attempt is recorded in an [`AskLog`] with its channel and
//! outcome. Time is passed in.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};

use crate::config::{AskSettings, Config, WebhookFormat};
use crate::error::{Error, ErrorInfo, Result};
use crate::model::{AskChannel, FileEntry, Lock, LockKind};
use crate::protocol::Server;

/// The message sent when the config gives none.
pub const DEFAULT_MESSAGE: &str = "Hi {holder}, could you release {file} when you get a moment? {requester} is waiting to edit it.{link}";

/// One ask-to-release attempt, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AskRecord {
    /// Server name.
    pub server: String,
    /// File path (WOPI: file id).
    pub path: String,
    /// The holder's user id or raw owner.
    pub holder_id: String,
    /// The holder's display name, when known.
    pub holder: Option<String>,
    /// How the request went out.
    pub channel: AskChannel,
    /// When.
    pub at: DateTime<Utc>,
    /// Whether it reached the channel.
    pub ok: bool,
    /// What happened, in words.
    pub detail: String,
}

/// Where ask-to-release attempts are remembered (for the rate limit and the history).
pub trait AskLog: Send + Sync {
    /// The most recent successful request for this file and holder.
    fn last_sent(
        &self,
        server: &str,
        path: &str,
        holder_id: &str,
    ) -> Result<Option<DateTime<Utc>>> {
        Ok(self
            .all()?
            .iter()
            .filter(|r| r.ok && r.server == server && r.path == path && r.holder_id == holder_id)
            .map(|r| r.at)
            .max())
    }
    /// Records an attempt.
    fn record(&self, record: &AskRecord) -> Result<()>;
    /// Every recorded attempt, oldest first.
    fn all(&self) -> Result<Vec<AskRecord>>;
}

/// An in-memory log, for tests and one-off runs.
#[derive(Debug, Default)]
pub struct MemoryAskLog {
    records: Mutex<Vec<AskRecord>>,
}

impl AskLog for MemoryAskLog {
    fn record(&self, record: &AskRecord) -> Result<()> {
        crate::sync::guard(&self.records).push(record.clone());
        Ok(())
    }

    fn all(&self) -> Result<Vec<AskRecord>> {
        Ok(crate::sync::guard(&self.records).clone())
    }
}

/// What a request achieved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AskOutcome {
    /// True when the request reached its channel (for mail: the link was made).
    pub ok: bool,
    /// The channel used (or that would have been).
    pub channel: Option<AskChannel>,
    /// Who was asked.
    pub holder: Option<String>,
    /// The text sent.
    pub text: Option<String>,
    /// For mail: the `mailto:` link to open.
    pub mailto: Option<String>,
    /// What happened, in one sentence.
    pub message: String,
    /// Why it did not work.
    pub error: Option<ErrorInfo>,
}

/// The lock whose holder a request would go to: the first lock that is not the user's own.
pub fn holder_lock(file: &FileEntry) -> Option<&Lock> {
    file.locks.iter().find(|l| !l.mine)
}

/// The holder's e-mail address: a `mailto:` owner, or the config's address map (by user id or name).
pub fn holder_email(lock: &Lock, settings: &AskSettings) -> Option<String> {
    if let Some(id) = &lock.owner_id
        && id.len() > 7
        && id[..7].eq_ignore_ascii_case("mailto:")
    {
        return Some(id[7..].to_owned());
    }
    [lock.owner_id.as_deref(), lock.owner.as_deref()]
        .into_iter()
        .flatten()
        .find_map(|key| settings.emails.get(key).cloned())
}

/// The channels that can reach `lock`'s holder on this server, in the configured order.
pub fn offered(
    server_channels: &[AskChannel],
    settings: &AskSettings,
    lock: &Lock,
) -> Vec<AskChannel> {
    let order: Vec<AskChannel> = if settings.via.is_empty() {
        AskChannel::ALL.to_vec()
    } else {
        settings.via.clone()
    };
    let user_id_known =
        lock.owner_id.is_some() && matches!(lock.kind, LockKind::User | LockKind::Token);
    order
        .into_iter()
        .filter(|channel| match channel {
            AskChannel::Talk | AskChannel::Comment => {
                user_id_known && server_channels.contains(channel)
            }
            AskChannel::Mail => holder_email(lock, settings).is_some(),
            AskChannel::Webhook => settings.webhook.is_some(),
        })
        .collect()
}

/// Fills a message template. `{link}` becomes the URL with a leading space, so it may end a sentence.
pub fn render(
    template: &str,
    holder: &str,
    file: &str,
    requester: &str,
    server: &str,
    link: Option<&str>,
) -> String {
    template
        .replace("{holder}", holder)
        .replace("{file}", file)
        .replace("{requester}", requester)
        .replace("{server}", server)
        .replace("{link}", &link.map(|l| format!(" {l}")).unwrap_or_default())
}

/// Characters kept as they are in a `mailto:` query value (RFC 6068: everything else percent-encoded,
/// spaces as `%20`, never `+`).
const MAILTO_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
const MAILTO_ADDRESS: &AsciiSet = &MAILTO_VALUE.remove(b'@');

/// A `mailto:` link with subject and body, encoded per RFC 6068 (UTF-8, percent-encoded).
pub fn mailto(address: &str, subject: &str, body: &str) -> String {
    format!(
        "mailto:{}?subject={}&body={}",
        utf8_percent_encode(address, MAILTO_ADDRESS),
        utf8_percent_encode(subject, MAILTO_VALUE),
        utf8_percent_encode(
            &body.replace("\r\n", "\n").replace('\n', "\r\n"),
            MAILTO_VALUE
        )
    )
}

/// The JSON a webhook receives.
pub fn webhook_payload(
    format: WebhookFormat,
    text: &str,
    file: &FileEntry,
    holder: &str,
    holder_id: &str,
    requester: &str,
) -> serde_json::Value {
    match format {
        WebhookFormat::Slack => serde_json::json!({ "text": text }),
        WebhookFormat::Generic => serde_json::json!({
            "text": text,
            "file": file.path,
            "name": file.name(),
            "server": file.server,
            "holder": holder,
            "holder_id": holder_id,
            "requester": requester,
            "url": file.url,
        }),
    }
}

/// A request to send.
#[derive(Debug, Clone)]
pub struct AskRequest<'a> {
    /// The file (as read just before).
    pub path: &'a str,
    /// A channel the user chose, or `None` for the first one offered.
    pub via: Option<AskChannel>,
    /// A message instead of the template.
    pub message: Option<&'a str>,
    /// Who is asking.
    pub requester: &'a str,
}

/// Who the request is from, in its text: the configured owner, else the server's user name.
pub fn requester(config_owner: Option<&str>, server: &Server) -> String {
    config_owner
        .map(str::to_owned)
        .or_else(|| server.config().username.clone())
        .unwrap_or_else(|| "A colleague".to_owned())
}

/// The channels offered for `file`'s holder on `server` (empty when no holder is known).
pub async fn channels(server: &Server, file: &FileEntry) -> Vec<AskChannel> {
    let Some(lock) = holder_lock(file) else {
        return Vec::new();
    };
    let server_channels = match server.source().await {
        Ok(source) => source.ask_channels().await.unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    offered(&server_channels, &server.config().ask, lock)
}

/// Asks the holder of `request.path` to release it, unless one was asked within `config.ask_interval`.
pub async fn ask(
    server: &Server,
    config: &Config,
    log: &dyn AskLog,
    request: AskRequest<'_>,
    now: DateTime<Utc>,
) -> AskOutcome {
    let name = server.config().name.clone();
    let failure = |channel: Option<AskChannel>, holder: Option<String>, err: &Error| {
        let info = ErrorInfo::for_server(&name, err);
        AskOutcome {
            ok: false,
            channel,
            holder,
            text: None,
            mailto: None,
            message: info.message.clone(),
            error: Some(info),
        }
    };
    let file = crate::actions::read_file(server, request.path, now).await;
    if let Some(err) = &file.error {
        return AskOutcome {
            ok: false,
            channel: None,
            holder: None,
            text: None,
            mailto: None,
            message: err.message.clone(),
            error: Some(err.clone()),
        };
    }
    let Some(lock) = holder_lock(&file).cloned() else {
        let err = Error::Conflict {
            detail: format!(
                "{} is not locked by anyone else; there is nobody to ask",
                file.name()
            ),
        };
        return failure(None, None, &err);
    };
    if lock.kind == LockKind::Wopi {
        let err = Error::Unsupported {
            detail: "WOPI does not reveal who holds a lock, so there is nobody Lockwatch could ask; ask in the editor or the host's sharing dialog".into(),
        };
        return failure(None, None, &err);
    }
    let (Some(holder_id), holder_name) = (
        lock.owner_id.clone().or_else(|| lock.owner.clone()),
        lock.owner.clone(),
    ) else {
        let err = Error::Unsupported {
            detail: format!(
                "the lock on {} does not say who holds it, so there is nobody to ask",
                file.name()
            ),
        };
        return failure(None, None, &err);
    };
    let holder = holder_name.clone().unwrap_or_else(|| holder_id.clone());
    let offered = channels(server, &file).await;
    let channel = match request.via {
        Some(via) if offered.contains(&via) => via,
        Some(via) => {
            let err = Error::Unsupported {
                detail: format!(
                    "{} cannot reach {holder} here{}",
                    via.as_str(),
                    if offered.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " (possible: {})",
                            offered
                                .iter()
                                .map(|c| c.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                ),
            };
            return failure(Some(via), Some(holder), &err);
        }
        None => match offered.first() {
            Some(first) => *first,
            None => {
                let err = Error::Unsupported {
                    detail: format!(
                        "no way to reach {holder} is configured: add their address under [servers.ask] emails, or a webhook"
                    ),
                };
                return failure(None, Some(holder), &err);
            }
        },
    };
    match log.last_sent(&name, request.path, &holder_id) {
        Ok(Some(last))
            if now
                < last + chrono::TimeDelta::from_std(config.ask_interval).unwrap_or_default() =>
        {
            let minutes = (now - last).num_minutes();
            let err = Error::Conflict {
                detail: format!(
                    "{holder} was already asked about {} {} ago; Lockwatch sends at most one request per {} minutes",
                    file.name(),
                    if minutes < 1 {
                        "less than a minute".to_owned()
                    } else {
                        format!("{minutes} min")
                    },
                    config.ask_interval.as_secs() / 60
                ),
            };
            return failure(Some(channel), Some(holder), &err);
        }
        Ok(_) => {}
        Err(err) => return failure(Some(channel), Some(holder), &err),
    }

    let link = (!file.url.is_empty()).then_some(file.url.as_str());
    let template = config.ask_message.as_deref().unwrap_or(DEFAULT_MESSAGE);
    let text = match request.message {
        Some(message) => message.to_owned(),
        None => render(
            template,
            &holder,
            file.name(),
            request.requester,
            &name,
            link,
        ),
    };
    let mut mailto_link = None;
    let result = match channel {
        AskChannel::Talk | AskChannel::Comment => match server.source().await {
            Ok(source) => {
                source
                    .send_ask(request.path, &holder_id, channel, &text)
                    .await
            }
            Err(err) => Err(err),
        },
        AskChannel::Mail => match holder_email(&lock, &server.config().ask) {
            Some(address) => {
                let subject = format!("Could you release {}?", file.name());
                mailto_link = Some(mailto(&address, &subject, &text));
                Ok(())
            }
            None => Err(Error::Unsupported {
                detail: format!("no e-mail address is known for {holder}"),
            }),
        },
        AskChannel::Webhook => match &server.config().ask.webhook {
            Some(hook) => {
                let payload = webhook_payload(
                    hook.format,
                    &text,
                    &file,
                    &holder,
                    &holder_id,
                    request.requester,
                );
                post_webhook(hook.url.expose(), &payload).await
            }
            None => Err(Error::Unsupported {
                detail: "no webhook is configured for this server".into(),
            }),
        },
    };
    let (ok, message, error) = match &result {
        Ok(()) => {
            let how = match channel {
                AskChannel::Talk => format!("Sent {holder} a Talk message about {}.", file.name()),
                AskChannel::Comment => format!(
                    "Mentioned {holder} in a comment on {} (everyone who can see the file can read it).",
                    file.name()
                ),
                AskChannel::Mail => format!(
                    "Opened an e-mail to {holder} about {} in your mail client.",
                    file.name()
                ),
                AskChannel::Webhook => format!(
                    "Posted a request to {holder} about {} to the webhook.",
                    file.name()
                ),
            };
            (true, how, None)
        }
        Err(err) => {
            let info = ErrorInfo::for_server(&name, err);
            (false, info.message.clone(), Some(info))
        }
    };
    let record = AskRecord {
        server: name.clone(),
        path: request.path.to_owned(),
        holder_id,
        holder: holder_name,
        channel,
        at: now,
        ok,
        detail: message.clone(),
    };
    if let Err(err) = log.record(&record) {
        tracing::warn!(error = %err, "cannot record the ask request");
    }
    AskOutcome {
        ok,
        channel: Some(channel),
        holder: Some(holder),
        text: Some(text),
        mailto: mailto_link,
        message,
        error,
    }
}

/// Posts `payload` to a webhook: no credentials, no redirects, a short time limit; the URL (a secret)
/// never appears in the error.
async fn post_webhook(url: &str, payload: &serde_json::Value) -> Result<()> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(15))
        .build()
        .map_err(|err| Error::Io {
            context: "cannot prepare the webhook request".into(),
            detail: err.without_url().to_string(),
        })?;
    let response =
        client
            .post(url)
            .json(payload)
            .send()
            .await
            .map_err(|err| Error::Unreachable {
                host: "the webhook".into(),
                detail: err.without_url().to_string(),
            })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.bytes().await.unwrap_or_default();
    Err(Error::WebhookRefused {
        status: status.as_u16(),
        detail: crate::http::excerpt(&body),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Expiry, LockScope};

    fn lock(owner: Option<&str>, owner_id: Option<&str>, kind: LockKind) -> Lock {
        Lock {
            owner: owner.map(str::to_owned),
            owner_id: owner_id.map(str::to_owned),
            editor: None,
            scope: LockScope::Exclusive,
            kind,
            token: None,
            depth: "0".into(),
            root: None,
            acquired_at: None,
            expires_at: None,
            expiry: Expiry::Unknown,
            timeout: None,
            inherited: false,
            mine: false,
        }
    }

    #[test]
    fn mailto_links_encode_non_ascii_and_line_breaks() {
        let link = mailto(
            "zoë@example.com",
            "Could you release Budget – 2026 (v2).xlsx?",
            "Hi Zoë,\nplease & thanks",
        );
        assert_eq!(
            link,
            "mailto:zo%C3%AB@example.com?subject=Could%20you%20release%20Budget%20%E2%80%93%202026%20%28v2%29.xlsx%3F&body=Hi%20Zo%C3%AB%2C%0D%0Aplease%20%26%20thanks"
        );
    }

    #[test]
    fn templates() {
        let text = render(
            DEFAULT_MESSAGE,
            "Bob",
            "Budget.xlsx",
            "Alice",
            "team",
            Some("https://h/B"),
        );
        assert_eq!(
            text,
            "Hi Bob, could you release Budget.xlsx when you get a moment? Alice is waiting to edit it. https://h/B"
        );
        assert!(render("{file} for {requester}{link}", "b", "f", "r", "s", None) == "f for r");
    }

    #[test]
    fn channels_offered_depend_on_what_is_known() {
        let mut settings = AskSettings::default();
        let nc_user = lock(Some("Bob"), Some("bob"), LockKind::User);
        assert_eq!(
            offered(
                &[AskChannel::Talk, AskChannel::Comment],
                &settings,
                &nc_user
            ),
            [AskChannel::Talk, AskChannel::Comment]
        );
        assert_eq!(
            offered(&[AskChannel::Comment], &settings, &nc_user),
            [AskChannel::Comment]
        );
        let app = lock(Some("Nextcloud Office"), None, LockKind::App);
        assert!(offered(&[AskChannel::Talk, AskChannel::Comment], &settings, &app).is_empty());
        let webdav = lock(
            Some("bob@example.com"),
            Some("mailto:bob@example.com"),
            LockKind::Webdav,
        );
        assert_eq!(offered(&[], &settings, &webdav), [AskChannel::Mail]);
        assert_eq!(
            holder_email(&webdav, &settings).as_deref(),
            Some("bob@example.com")
        );
        settings
            .emails
            .insert("bob".into(), "bob@corp.example".into());
        assert_eq!(
            holder_email(&nc_user, &settings).as_deref(),
            Some("bob@corp.example")
        );
        settings.via = vec![AskChannel::Mail, AskChannel::Comment];
        assert_eq!(
            offered(
                &[AskChannel::Talk, AskChannel::Comment],
                &settings,
                &nc_user
            ),
            [AskChannel::Mail, AskChannel::Comment]
        );
    }
}
