//! A loopback stand-in of WhatsApp's media upload endpoint (`mmg.whatsapp.net`): it takes the
//! library's encrypted upload (`POST /mms/{type}/{token}`), keeps the body and answers the
//! `{url, direct_path}` WhatsApp answers. The library's HTTP client is pluggable: `client()`
//! gives one that sends the library's `https://` requests for this host over plain HTTP to it
//! (no certificate for 127.0.0.1), through the same ureq client the library ships.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use whatsapp_rust::async_trait;
use whatsapp_rust::http::{HttpClient, HttpRequest, HttpResponse, UreqHttpClient};

/// One upload the endpoint received.
#[derive(Clone, Debug)]
pub struct Upload {
    /// `/mms/document/…` (the media type's path and the token).
    pub path: String,
    /// The encrypted bytes as they came.
    pub body: Vec<u8>,
}

pub struct MediaServer {
    /// `127.0.0.1:PORT`, the host the media connection answer names.
    pub host: String,
    pub uploads: Arc<Mutex<Vec<Upload>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MediaServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MediaServer {
    pub async fn start() -> MediaServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let host = listener.local_addr().expect("address").to_string();
        let uploads = Arc::new(Mutex::new(Vec::new()));
        let kept = uploads.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let kept = kept.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve(stream, kept).await {
                        eprintln!("media stand-in: {e}");
                    }
                });
            }
        });
        MediaServer {
            host,
            uploads,
            task,
        }
    }

    /// The HTTP client for the library: this host over plain HTTP, nothing else.
    pub fn client(&self) -> Arc<dyn HttpClient> {
        Arc::new(Loopback {
            host: self.host.clone(),
            inner: UreqHttpClient::new(),
        })
    }
}

async fn serve(mut stream: TcpStream, uploads: Arc<Mutex<Vec<Upload>>>) -> std::io::Result<()> {
    let mut request = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        request.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&request[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while request.len() < head_end + length {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buf[..n]);
    }
    let target = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let path = target.split('?').next().unwrap_or("/").to_owned();
    let body = request[head_end..].to_vec();
    uploads.lock().expect("lock").push(Upload {
        path: path.clone(),
        body,
    });
    let answer = serde_json::json!({
        "url": format!("https://mmg.whatsapp.net{path}?stand-in=1"),
        "direct_path": format!("/v/t62.7119-24{path}"),
    })
    .to_string();
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{answer}",
        answer.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// The library's ureq client, pointed at the stand-in: `https://HOST/…` becomes `http://HOST/…`.
struct Loopback {
    host: String,
    inner: UreqHttpClient,
}

#[async_trait]
impl HttpClient for Loopback {
    async fn execute(
        &self,
        mut request: HttpRequest,
    ) -> whatsapp_rust::anyhow::Result<HttpResponse> {
        let secure = format!("https://{}/", self.host);
        match request.url.strip_prefix(&secure) {
            Some(rest) => request.url = format!("http://{}/{rest}", self.host),
            None => whatsapp_rust::anyhow::bail!("the test client only reaches the stand-in"),
        }
        self.inner.execute(request).await
    }
}
