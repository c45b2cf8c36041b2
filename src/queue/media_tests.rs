//! Media parts through the outbox (`cargo test media`): the fake channel on a stepped clock, the
//! files served by a loopback server reached through the media policy (a loopback host allowed
//! by name). The PIX QR goes as an image with its caption and the code stays its own part; a
//! boleto PDF is fetched once, stored once and sent as a document; a link that gives no file goes
//! as text with the link and the history says why; transient trouble is retried twice, then the
//! part goes as text; a retry reuses the stored file.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::channels::fake::{FakeMedia, FakeSend};
use crate::domain::template::parse_template_file;
use crate::domain::{Clock as _, EventKind, Message, MessageStatus};
use crate::net::{Client, Policy, Targets};
use crate::queue::channel::{AttachmentKind, SendError};
use crate::queue::outbox_tests::{NOON, Rig, rig};

/// A PDF as a bank's boleto starts (the bytes are sniffed, not the Content-Type).
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n";

/// The loopback file server: `/boleto.pdf` a PDF, `/login` an HTML page, `/busy` a 503; counts
/// every request.
struct Files {
    port: u16,
    hits: Arc<AtomicUsize>,
}

fn files() -> Files {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("bound").port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            counted.fetch_add(1, Ordering::SeqCst);
            let head = String::from_utf8_lossy(&head);
            let (status, body): (&str, &[u8]) = match head.split(' ').nth(1).unwrap_or("/") {
                "/boleto.pdf" => ("200 OK", PDF),
                "/login" => ("200 OK", b"<!DOCTYPE html><form>entre</form>"),
                "/busy" => ("503 Service Unavailable", b"ocupado"),
                _ => ("404 Not Found", b"nada"),
            };
            let mut out = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .into_bytes();
            out.extend_from_slice(body);
            let _ = stream.write_all(&out);
        }
    });
    Files { port, hits }
}

impl Files {
    fn url(&self, path: &str) -> String {
        format!("http://loja.example:{}{path}", self.port)
    }
}

/// The outbox rig fetching through the media policy, `loja.example` allowed and pointed at the
/// loopback server (plain http only because the test server has no certificate).
fn media_rig(template: &str) -> Rig {
    let mut rig = rig(|_| {});
    let policy = Policy {
        allow_http: true,
        targets: Targets::PublicOnly {
            allowed_hosts: vec!["loja.example".into()],
        },
        ..Policy::media()
    };
    let hosts = HashMap::from([(
        "loja.example".to_owned(),
        vec!["127.0.0.1".parse().expect("ip")],
    )]);
    rig.outbox
        .set_media_client(Client::with_hosts(policy, hosts));
    let template =
        parse_template_file(EventKind::BoletoGenerated, template).expect("a template file");
    rig.db
        .save_template(rig.store.id, &template)
        .expect("saved");
    rig
}

/// The boleto as a PDF with its caption, one part (the pacing of a second part would interleave
/// with the retries these specs step through).
const BOLETO_AS_DOCUMENT: &str =
    "# on\n=== delay 0m\n#documento {{ payment.boleto_url }}\nSeu boleto de {{ product_names }}.\n";

fn boleto(rig: &mut Rig, order: &str, url: &str) {
    rig.event(json!({
        "kind": "boleto.generated", "order_id": order,
        "payment": { "boleto_url": url, "boleto_barcode": "34191.79001 01043.510047" }
    }));
}

fn history(message: &Message) -> Vec<(MessageStatus, Option<String>)> {
    message
        .history
        .iter()
        .map(|c| (c.status, c.reason.clone()))
        .collect()
}

/// Passes until the due messages have gone, stepping past the pacing interval.
async fn drain(rig: &Rig) {
    let start = rig.clock.now();
    for step in 0..8 {
        rig.at(start + step * 60);
        rig.pass().await;
    }
}

#[tokio::test]
async fn media_the_pix_goes_as_the_qr_image_with_its_caption_and_the_code_stays_its_own_part() {
    let mut rig = rig(|_| {});
    let code = "00020101021226900014br.gov.bcb.pix2568qrpix.example/v2/cobv/9d36b84f5204000053039865802BR5925LOJA EXEMPLO6009SAO PAULO6304ABCD";
    rig.event(
        json!({ "kind": "pix.generated", "order_id": "P", "total_cents": 9990,
                      "payment": { "pix_code": code } }),
    );
    rig.at(NOON + 120);
    rig.pass().await;
    rig.at(NOON + 180);
    rig.pass().await;
    let sent = rig.fake.sent();
    assert_eq!(sent.len(), 2, "{sent:?}");
    let png = crate::media::pix_qr_png(code).expect("drawn");
    assert_eq!(
        sent[0].media,
        Some(FakeMedia {
            kind: AttachmentKind::Image,
            sha256: hex::encode(Sha256::digest(&png)),
            mime: "image/png".into(),
            file_name: "pix.png".into(),
            size: png.len(),
        })
    );
    assert_eq!(
        sent[0].text,
        "Olá, Ana! Seu PIX de Curso no valor de R$ 99,90 está pronto. Aponte a câmera do app do \
         seu banco para este QR Code, ou copie o código da próxima mensagem e cole em PIX Copia \
         e Cola."
    );
    assert_eq!((sent[1].text.as_str(), &sent[1].media), (code, &None));
    let qr = &rig.messages()[0];
    let record = rig.db.message_media(qr.id).expect("read").expect("kept");
    assert_eq!(
        (record.mime.as_str(), record.file_name.as_str()),
        ("image/png", "pix.png")
    );
    assert_eq!(
        rig.db.media_bytes(&record.sha256).expect("bytes"),
        Some(png)
    );
}

#[tokio::test]
async fn media_a_boleto_pdf_is_fetched_stored_once_and_sent_as_a_document_with_its_caption() {
    let server = files();
    let mut rig = media_rig(BOLETO_AS_DOCUMENT);
    let url = server.url("/boleto.pdf");
    boleto(&mut rig, "A", &url);
    boleto(&mut rig, "B", &url);
    drain(&rig).await;
    let documents: Vec<FakeSend> = rig
        .fake
        .sent()
        .into_iter()
        .filter(|s| s.media.is_some())
        .collect();
    assert_eq!(documents.len(), 2);
    for sent in &documents {
        assert_eq!(sent.text, "Seu boleto de Curso.");
        assert_eq!(
            sent.media,
            Some(FakeMedia {
                kind: AttachmentKind::Document,
                sha256: hex::encode(Sha256::digest(PDF)),
                mime: "application/pdf".into(),
                file_name: "boleto.pdf".into(),
                size: PDF.len(),
            })
        );
    }
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        2,
        "one fetch per message"
    );
    assert_eq!(rig.db.media_blob_count().expect("count"), 1, "stored once");
}

#[tokio::test]
async fn media_a_boleto_link_answering_a_web_page_goes_as_text_with_the_link_and_says_why() {
    let server = files();
    let mut rig = media_rig(BOLETO_AS_DOCUMENT);
    let url = server.url("/login");
    boleto(&mut rig, "A", &url);
    drain(&rig).await;
    let sent = rig.fake.sent();
    assert_eq!(sent[0].text, format!("Seu boleto de Curso.\n{url}"));
    assert_eq!(sent[0].media, None, "no PDF that is a web page");
    let message = &rig.messages()[0];
    assert_eq!(message.status, MessageStatus::Sent);
    assert_eq!(
        history(message)[1..],
        [
            (MessageStatus::Sending, None),
            (
                MessageStatus::Sending,
                Some(
                    "media_as_text: o endereço devolveu uma página da web, não um arquivo"
                        .to_owned()
                )
            ),
            (MessageStatus::Sent, None),
        ]
    );
    assert_eq!(rig.db.message_media(message.id).expect("read"), None);
}

#[tokio::test]
async fn media_a_busy_file_server_is_retried_twice_then_the_part_goes_as_text() {
    let server = files();
    let mut rig = media_rig(BOLETO_AS_DOCUMENT);
    let url = server.url("/busy");
    boleto(&mut rig, "A", &url);
    rig.pass().await;
    let first = rig.messages()[0].clone();
    assert_eq!(
        (first.status, first.attempts, first.due_at),
        (MessageStatus::Scheduled, 1, NOON + 33),
        "retried on the schedule (30 s + jitter)"
    );
    assert_eq!(
        first.reason(),
        Some("transient: o servidor do arquivo respondeu HTTP 503")
    );
    rig.at(NOON + 33);
    rig.pass().await;
    let second = rig.messages()[0].clone();
    assert_eq!(
        (second.status, second.attempts),
        (MessageStatus::Scheduled, 2)
    );
    rig.at(second.due_at);
    rig.pass().await;
    let third = rig.messages()[0].clone();
    assert_eq!(third.status, MessageStatus::Sent);
    assert_eq!(
        rig.fake.sent()[0].text,
        format!("Seu boleto de Curso.\n{url}"),
        "the buyer gets the link rather than nothing"
    );
    assert_eq!(server.hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn media_a_retry_after_a_failed_upload_reuses_the_stored_file_and_a_refused_one_goes_as_text()
{
    let server = files();
    let mut rig = media_rig(BOLETO_AS_DOCUMENT);
    boleto(&mut rig, "A", &server.url("/boleto.pdf"));
    rig.fake.fail_next(SendError::Media {
        reason: "o envio do arquivo ao WhatsApp não terminou (timeout)".into(),
        transient: true,
    });
    rig.pass().await;
    let retried = rig.messages()[0].clone();
    assert_eq!(
        (retried.status, retried.attempts),
        (MessageStatus::Scheduled, 1)
    );
    rig.at(retried.due_at);
    rig.pass().await;
    assert_eq!(server.hits.load(Ordering::SeqCst), 1, "not fetched again");
    assert!(rig.fake.sent()[0].media.is_some());
    assert_eq!(rig.messages()[0].status, MessageStatus::Sent);

    boleto(&mut rig, "B", &server.url("/boleto.pdf"));
    rig.fake.fail_next(SendError::Media {
        reason: "o WhatsApp recusou o arquivo (HTTP 413)".into(),
        transient: false,
    });
    drain(&rig).await;
    let sent = rig.fake.sent();
    let refused = sent
        .iter()
        .find(|s| s.media.is_none() && s.text.starts_with("Seu boleto"))
        .expect("the refused file went as text");
    assert!(refused.text.ends_with("/boleto.pdf"), "{}", refused.text);
    let b = rig
        .messages()
        .into_iter()
        .find(|m| m.order_id.as_deref() == Some("B") && m.part == 0)
        .expect("B's document part");
    assert!(
        history(&b).contains(&(
            MessageStatus::Sending,
            Some("media_as_text: o WhatsApp recusou o arquivo (HTTP 413)".into())
        )),
        "{:?}",
        b.history
    );
}

#[tokio::test]
async fn media_the_caixa_de_teste_keeps_which_file_each_part_carried() {
    let server = files();
    let mut rig = media_rig(BOLETO_AS_DOCUMENT);
    rig.db
        .update_store(rig.store.id, |s| s.test_mode = true)
        .expect("modo teste");
    boleto(&mut rig, "A", &server.url("/boleto.pdf"));
    drain(&rig).await;
    assert!(rig.fake.sent().is_empty(), "nothing reaches WhatsApp");
    let messages = rig.messages();
    assert!(messages.iter().all(|m| m.status == MessageStatus::Sent));
    let record = rig
        .db
        .message_media(messages[0].id)
        .expect("read")
        .expect("the document part's file");
    assert_eq!(
        (record.mime.as_str(), record.file_name.as_str(), record.size),
        ("application/pdf", "boleto.pdf", PDF.len() as u64)
    );
}

#[tokio::test]
async fn media_a_hashtag_is_text_and_a_part_without_its_file_goes_as_its_caption() {
    let mut rig = media_rig(
        "# on\n=== delay 0m\n#promoção só hoje, {{ customer.name }}\n+++\n\
         #documento {{ payment.boleto_url }}\nSeu boleto chegou.\n",
    );
    rig.event(json!({ "kind": "boleto.generated", "order_id": "A",
                      "payment": { "boleto_barcode": "34191.79001 01043.510047" } }));
    drain(&rig).await;
    let texts: Vec<(String, bool)> = rig
        .fake
        .sent()
        .into_iter()
        .map(|s| (s.text, s.media.is_some()))
        .collect();
    assert_eq!(
        texts,
        [
            ("#promoção só hoje, Ana".to_owned(), false),
            ("Seu boleto chegou.".to_owned(), false),
        ]
    );
    assert_eq!(
        rig.messages()[1].history[2].reason.as_deref(),
        Some("media_as_text: o evento não trouxe o endereço do arquivo")
    );
}

/// A text part that starts with a variable stays text whatever the variable holds: a webhook
/// (or a buyer typing their name) cannot make avisa fetch and send a file. The buyer reads the
/// text as rendered; nothing is fetched.
#[tokio::test]
async fn media_a_variable_cannot_turn_a_text_part_into_a_media_part() {
    let server = files();
    let mut rig = media_rig("# on\n=== delay 0m\n{{ order_id }}\nSeu pedido foi recebido.\n");
    let injected = format!("#documento {}", server.url("/boleto.pdf"));
    rig.event(json!({ "kind": "boleto.generated", "order_id": injected }));
    drain(&rig).await;
    let sent = rig.fake.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].media, None, "sent as text");
    assert_eq!(
        sent[0].text.trim_start_matches('\u{200B}'),
        format!("{injected}\nSeu pedido foi recebido."),
        "the buyer reads what was rendered"
    );
    assert_eq!(server.hits.load(Ordering::SeqCst), 0, "nothing was fetched");
    let shown = crate::media::shown(&rig.messages()[0].text);
    assert!(
        shown.is_none(),
        "the console shows it as text too: {shown:?}"
    );
}
