//! A small typed client of the node's local HTTP API (docs/api.md), used by the command line.
//!
//! It finds its daemon through the data folder: the address the running daemon wrote in
//! `api-address`, else the one in `config.toml` (`api.listen`); and the bearer token in
//! `api-token`. Every non-2xx answer becomes a [`ClientError`]
//! carrying the server's own `error` message; a refused connection says that the daemon is
//! not running for this data folder and how to start it.

use crate::config::Config;
use crate::datadir::{self, API_ADDRESS_FILE};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;
use taawun_api::views::*;

/// How long to wait for the daemon to accept a connection. It runs on this machine (or a
/// machine the user pointed `api.listen` at), so a few seconds is plenty and a dead address
/// should fail fast.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Upper bound on a whole request. Generous because a submission uploads a result file of up
/// to the cooperative's `max_result_bytes` (16 MiB by default), possibly from a slow phone.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// What went wrong talking to the daemon.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    /// Nothing listens at the configured address.
    #[error(
        "no taawun daemon answers at {url}: the daemon is not running for the data folder {dir}; start it with `taawun run --data-dir {dir}`"
    )]
    NotRunning {
        /// The API's base URL.
        url: String,
        /// The data folder, as given.
        dir: String,
    },
    /// The daemon answered with an error status.
    #[error("{message} (HTTP {status})")]
    Api {
        /// The HTTP status code.
        status: u16,
        /// The server's `error` message (or the status text when the body had none).
        message: String,
    },
    /// The token was refused.
    #[error("the daemon refused this data folder's API token ({path}): {message}; was the token file replaced since the daemon started?")]
    Unauthorized {
        /// The token file.
        path: String,
        /// The server's message.
        message: String,
    },
    /// Any other transport failure (timeout, connection reset...).
    #[error("talking to the daemon at {url}: {source}")]
    Transport {
        /// The API's base URL.
        url: String,
        /// The cause.
        source: reqwest::Error,
    },
    /// The answer was not the JSON the API promises.
    #[error("the daemon at {url} answered {path} with unexpected JSON: {source}")]
    Decode {
        /// The API's base URL.
        url: String,
        /// The route.
        path: String,
        /// The cause.
        source: serde_json::Error,
    },
}

/// The result of a call.
pub(crate) type Result<T> = std::result::Result<T, ClientError>;

/// A client of one node's API.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
    dir: PathBuf,
}

/// The URL at which a client reaches an API listening on `listen`: an unspecified address
/// (`0.0.0.0`, `::`) is reached through loopback.
pub(crate) fn base_url(listen: SocketAddr) -> String {
    let ip = match listen.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, listen.port()))
}

impl Client {
    /// A client of the daemon of data folder `dir`: the address the running daemon wrote
    /// (it may have asked for port 0), else the configured one; and the folder's token.
    pub(crate) fn open(dir: &Path) -> anyhow::Result<Self> {
        let token = datadir::load_token(dir)?;
        let running = std::fs::read_to_string(dir.join(API_ADDRESS_FILE))
            .ok()
            .and_then(|s| s.trim().parse::<SocketAddr>().ok());
        let listen = match running {
            Some(a) => a,
            None => Config::load(dir)?.api.listen,
        };
        if listen.port() == 0 {
            // Port 0 asks for any free port: only the running daemon knows which.
            anyhow::bail!(
                "the daemon is not running for the data folder {d} (no {API_ADDRESS_FILE} file, and api.listen asks for any free port); start it with `taawun run --data-dir {d}`",
                d = dir.display()
            );
        }
        Self::new(&base_url(listen), token, dir)
    }

    /// A client of the API at `base` (`http://127.0.0.1:7420`) with `token`.
    pub(crate) fn new(base: &str, token: String, dir: &Path) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            // The API is local: a proxy from the environment must not see the token.
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build an HTTP client: {e}"))?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token,
            dir: dir.to_owned(),
        })
    }

    fn transport(&self, e: reqwest::Error) -> ClientError {
        if e.is_connect() {
            ClientError::NotRunning {
                url: self.base.clone(),
                dir: self.dir.display().to_string(),
            }
        } else {
            ClientError::Transport {
                url: self.base.clone(),
                source: e,
            }
        }
    }

    /// Sends `req`, turning an error status into a [`ClientError`]; returns the body.
    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Vec<u8>> {
        let resp = req
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| self.transport(e))?;
        self.check(resp).await
    }

    /// The body of a response, or its error status as a [`ClientError`].
    async fn check(&self, resp: reqwest::Response) -> Result<Vec<u8>> {
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| self.transport(e))?;
        if status.is_success() {
            return Ok(body.to_vec());
        }
        let message = error_message(status.as_u16(), &body);
        if status.as_u16() == 401 {
            return Err(ClientError::Unauthorized {
                path: self.dir.join(datadir::TOKEN_FILE).display().to_string(),
                message,
            });
        }
        Err(ClientError::Api {
            status: status.as_u16(),
            message,
        })
    }

    fn decode<T: DeserializeOwned>(&self, path: &str, body: &[u8]) -> Result<T> {
        serde_json::from_slice(body).map_err(|source| ClientError::Decode {
            url: self.base.clone(),
            path: path.to_owned(),
            source,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET path`, decoded.
    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let body = self.send(self.http.get(self.url(path))).await?;
        self.decode(path, &body)
    }

    /// `GET path`, raw bytes.
    pub(crate) async fn get_bytes(&self, path: &str) -> Result<Vec<u8>> {
        self.send(self.http.get(self.url(path))).await
    }

    /// `POST path` with a JSON body, decoded.
    pub(crate) async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T> {
        let body = self.send(self.http.post(self.url(path)).json(body)).await?;
        self.decode(path, &body)
    }

    /// `POST path` without a body, decoded.
    pub(crate) async fn post_empty<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let body = self.send(self.http.post(self.url(path))).await?;
        self.decode(path, &body)
    }

    /// `POST path` with raw bytes, decoded.
    pub(crate) async fn post_bytes<T: DeserializeOwned>(
        &self,
        path: &str,
        bytes: Vec<u8>,
    ) -> Result<T> {
        let req = self
            .http
            .post(self.url(path))
            .header("content-type", "application/octet-stream")
            .body(bytes);
        let body = self.send(req).await?;
        self.decode(path, &body)
    }

    // The routes, typed. `coop` and the other ids are full hex ids.

    /// `GET /api/status`.
    pub(crate) async fn status(&self) -> Result<Status> {
        self.get("/api/status").await
    }

    /// `GET /api/peers`.
    pub(crate) async fn peers(&self) -> Result<Vec<Peer>> {
        self.get("/api/peers").await
    }

    /// `POST /api/coops`.
    pub(crate) async fn create_coop(&self, req: &CreateCoop) -> Result<CoopView> {
        self.post("/api/coops", req).await
    }

    /// `POST /api/join`.
    pub(crate) async fn join(&self, invite: &str) -> Result<CoopSummary> {
        let req = JoinReq {
            invite: invite.to_owned(),
        };
        self.post("/api/join", &req).await
    }

    /// `GET /api/coops/{coop}`.
    pub(crate) async fn coop(&self, coop: &str) -> Result<CoopView> {
        self.get(&format!("/api/coops/{coop}")).await
    }

    /// `GET /api/coops/{coop}/invite`.
    pub(crate) async fn invite(&self, coop: &str) -> Result<InviteView> {
        self.get(&format!("/api/coops/{coop}/invite")).await
    }

    /// `POST /api/coops/{coop}/proposals`.
    pub(crate) async fn propose(&self, coop: &str, req: &Propose) -> Result<Written> {
        self.post(&format!("/api/coops/{coop}/proposals"), req)
            .await
    }

    /// `POST /api/coops/{coop}/votes`.
    pub(crate) async fn vote(&self, coop: &str, req: &VoteReq) -> Result<Written> {
        self.post(&format!("/api/coops/{coop}/votes"), req).await
    }

    /// `GET /api/coops/{coop}/offers`: one page, and how many offers match in all.
    pub(crate) async fn offers(
        &self,
        coop: &str,
        q: &OfferQuery,
    ) -> Result<(Vec<OfferView>, usize)> {
        self.get_query(&format!("/api/coops/{coop}/offers"), q)
            .await
    }

    /// `GET path?query` of a listing: the items, and how many match in all (the
    /// `x-total-count` header).
    async fn get_query<Q: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        q: &Q,
    ) -> Result<(Vec<T>, usize)> {
        let resp = self
            .http
            .get(self.url(path))
            .query(q)
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| self.transport(e))?;
        let total = resp
            .headers()
            .get(taawun_api::request::TOTAL_COUNT_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let body = self.check(resp).await?;
        let items: Vec<T> = self.decode(path, &body)?;
        let total = total.unwrap_or(items.len());
        Ok((items, total))
    }

    /// `GET /api/coops/{coop}/offers/{offer}`.
    pub(crate) async fn offer(&self, coop: &str, offer: &str) -> Result<OfferView> {
        self.get(&format!("/api/coops/{coop}/offers/{offer}")).await
    }

    /// `POST /api/coops/{coop}/offers`.
    pub(crate) async fn post_offer(&self, coop: &str, req: &PostOffer) -> Result<Written> {
        self.post(&format!("/api/coops/{coop}/offers"), req).await
    }

    /// `POST /api/coops/{coop}/offers/{offer}/{verb}` for `withdraw` and `claim`.
    pub(crate) async fn offer_action(
        &self,
        coop: &str,
        offer: &str,
        verb: &str,
    ) -> Result<Written> {
        self.post_empty(&format!("/api/coops/{coop}/offers/{offer}/{verb}"))
            .await
    }

    /// `POST /api/coops/{coop}/offers/{offer}/assign`.
    pub(crate) async fn assign(&self, coop: &str, offer: &str, req: &AssignReq) -> Result<Written> {
        self.post(&format!("/api/coops/{coop}/offers/{offer}/assign"), req)
            .await
    }

    /// `POST /api/coops/{coop}/offers/{offer}/submit?minutes=N`.
    pub(crate) async fn submit(
        &self,
        coop: &str,
        offer: &str,
        minutes: u32,
        bytes: Vec<u8>,
    ) -> Result<Written> {
        self.post_bytes(
            &format!("/api/coops/{coop}/offers/{offer}/submit?minutes={minutes}"),
            bytes,
        )
        .await
    }

    /// `GET /api/coops/{coop}/submissions`.
    pub(crate) async fn submissions(
        &self,
        coop: &str,
        q: &SubmissionQuery,
    ) -> Result<Vec<SubmissionView>> {
        self.get_query(&format!("/api/coops/{coop}/submissions"), q)
            .await
            .map(|(subs, _)| subs)
    }

    /// `GET /api/coops/{coop}/submissions/{id}/result`.
    pub(crate) async fn result(&self, coop: &str, submission: &str) -> Result<Vec<u8>> {
        self.get_bytes(&format!(
            "/api/coops/{coop}/submissions/{submission}/result"
        ))
        .await
    }

    /// `POST /api/coops/{coop}/submissions/{id}/accept`.
    pub(crate) async fn accept(&self, coop: &str, submission: &str) -> Result<Written> {
        self.post_empty(&format!(
            "/api/coops/{coop}/submissions/{submission}/accept"
        ))
        .await
    }

    /// `POST /api/coops/{coop}/submissions/{id}/reject`.
    pub(crate) async fn reject(
        &self,
        coop: &str,
        submission: &str,
        reason: &str,
    ) -> Result<Written> {
        let req = RejectReq {
            reason: reason.to_owned(),
        };
        self.post(
            &format!("/api/coops/{coop}/submissions/{submission}/reject"),
            &req,
        )
        .await
    }

    /// `GET /api/coops/{coop}/payments`.
    pub(crate) async fn payments(&self, coop: &str, q: &PaymentQuery) -> Result<Vec<PaymentView>> {
        self.get_query(&format!("/api/coops/{coop}/payments"), q)
            .await
            .map(|(payments, _)| payments)
    }

    /// `POST /api/coops/{coop}/payments`.
    pub(crate) async fn pay(&self, coop: &str, req: &PayReq) -> Result<Written> {
        self.post(&format!("/api/coops/{coop}/payments"), req).await
    }

    /// `POST /api/coops/{coop}/payments/{id}/confirm`: received, or not received.
    pub(crate) async fn confirm(
        &self,
        coop: &str,
        payment: &str,
        received: bool,
    ) -> Result<Written> {
        self.post(
            &format!("/api/coops/{coop}/payments/{payment}/confirm"),
            &ConfirmReq { received },
        )
        .await
    }

    /// `POST /api/coops/{coop}/reviews`.
    pub(crate) async fn review(&self, coop: &str, req: &ReviewReq) -> Result<Written> {
        self.post(&format!("/api/coops/{coop}/reviews"), req).await
    }

    /// `GET /api/coops/{coop}/devices`.
    pub(crate) async fn devices(&self, coop: &str) -> Result<Vec<DeviceView>> {
        self.get(&format!("/api/coops/{coop}/devices")).await
    }

    /// `POST /api/coops/{coop}/devices`.
    pub(crate) async fn add_device(&self, coop: &str, req: &AddDevice) -> Result<Written> {
        self.post(&format!("/api/coops/{coop}/devices"), req).await
    }

    /// `POST /api/coops/{coop}/devices/{key}/revoke`.
    pub(crate) async fn revoke_device(&self, coop: &str, key: &str) -> Result<Written> {
        self.post_empty(&format!("/api/coops/{coop}/devices/{key}/revoke"))
            .await
    }

    /// `GET /api/coops/{coop}/requesters/{key}`.
    pub(crate) async fn record(&self, coop: &str, key: &str) -> Result<RecordView> {
        self.get(&format!("/api/coops/{coop}/requesters/{key}"))
            .await
    }

    /// `GET /api/coops/{coop}/balances`.
    pub(crate) async fn balances(&self, coop: &str) -> Result<Vec<BalanceView>> {
        self.get(&format!("/api/coops/{coop}/balances")).await
    }
}

/// The message of an error answer: the JSON `error` field, else the body as text, else the
/// status's name.
pub(crate) fn error_message(status: u16, body: &[u8]) -> String {
    if let Ok(e) = serde_json::from_slice::<ErrorBody>(body) {
        return e.error;
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if !text.is_empty() {
        // A proxy or a stray server may answer with a page; keep the message readable.
        return text.chars().take(200).collect();
    }
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("error")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_addresses_are_reached_through_loopback() {
        let a: SocketAddr = "0.0.0.0:7420".parse().expect("addr");
        assert_eq!(base_url(a), "http://127.0.0.1:7420");
        let a: SocketAddr = "[::]:80".parse().expect("addr");
        assert_eq!(base_url(a), "http://[::1]:80");
        let a: SocketAddr = "192.168.1.5:7420".parse().expect("addr");
        assert_eq!(base_url(a), "http://192.168.1.5:7420");
    }

    #[test]
    fn error_messages_come_from_the_json_body() {
        let body = br#"{"error":"offer refused: under the floor"}"#;
        assert_eq!(error_message(422, body), "offer refused: under the floor");
        assert_eq!(error_message(500, b"boom\n"), "boom");
        assert_eq!(error_message(404, b""), "Not Found");
    }

    #[tokio::test]
    async fn a_refused_connection_says_the_daemon_is_not_running() {
        // A port that was free a moment ago: nothing listens there now.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let c = Client::new(
            &format!("http://127.0.0.1:{port}"),
            "t".repeat(64),
            Path::new("/tmp/somewhere"),
        )
        .expect("client");
        let e = c.status().await.expect_err("nothing listens");
        let msg = e.to_string();
        assert!(matches!(e, ClientError::NotRunning { .. }), "{msg}");
        assert!(
            msg.contains("taawun run --data-dir /tmp/somewhere"),
            "{msg}"
        );
    }
}
