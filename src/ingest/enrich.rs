//! Thin notifications: which platforms' webhooks name a resource without the buyer, which API
//! call returns it (`target`, `call`), and the re-reading of the event with the fetched resource
//! (`merge`, through the platform's own recogniser). The queue and the schedule are
//! `domain::enrichment`'s; the call is made by `queue::enrich`. Pure: no I/O.

use serde_json::Value;

use super::common::{at, body_value, list, text};
use super::{Draft, Reading, Reason, ReasonCode, Request, Status};
use crate::domain::enrichment::{ApiCredentials, GiveUp, TOKEN_FIELD};
use crate::domain::{Event, Platform};

pub use super::enrich_credentials::{Credential, Field, api_note, credential, normalize};
use super::enrich_credentials::{api_address, vtex_account};

/// Where each platform's API lives (production): fixed, or the store's own address built from
/// its credentials (VTEX's account).
fn base(platform: Platform, credentials: &ApiCredentials) -> Option<String> {
    if platform == Platform::Vtex {
        let account = vtex_account(credentials.get("account")?)?;
        return Some(format!("https://{account}.vtexcommercestable.com.br"));
    }
    if platform == Platform::Tray {
        return api_address(credentials.get("api_address")?);
    }
    Some(
        match platform {
            Platform::Nuvemshop => "https://api.nuvemshop.com.br/v1",
            Platform::Mercadopago => "https://api.mercadopago.com",
            Platform::Asaas => "https://api.asaas.com",
            Platform::Iugu => "https://api.iugu.com",
            Platform::Vindi => "https://app.vindi.com.br/api/v1",
            Platform::Mercadolivre => "https://api.mercadolibre.com",
            // The Pix API's production host; every call there is mutual TLS.
            Platform::Efi => "https://pix.api.efipay.com.br",
            // The legacy API's host, which answers transaction notifications' codes.
            Platform::Pagbank => "https://ws.pagseguro.uol.com.br",
            _ => return None,
        }
        .to_owned(),
    )
}

/// The platform's API base without a trailing `/`: `base_override` (the tests' loopback
/// stand-ins) or its own.
pub(super) fn base_of(
    platform: Platform,
    credentials: &ApiCredentials,
    base_override: Option<&str>,
) -> Option<String> {
    let base = match base_override {
        Some(stand_in) => stand_in.to_owned(),
        None => base(platform, credentials)?,
    };
    Some(base.trim_end_matches('/').to_owned())
}

/// Nuvemshop's order notifications worth a fetch: the ones with a kind, and order/created,
/// whose order (a boleto or PIX waiting) is the reminder's start. order/updated and
/// order/packed say nothing a buyer needs.
const NUVEMSHOP_ORDER_EVENTS: [&str; 4] = [
    "order/created",
    "order/paid",
    "order/fulfilled",
    "order/cancelled",
];

/// An id from a webhook body that may go into a URL path: a body is attacker-controlled if the
/// webhook URL leaks, so nothing that could change the path (`/`, `..`, `?`, `%`).
fn path_id(id: Option<String>) -> Option<String> {
    id.filter(|id| {
        !id.is_empty()
            && id.len() <= 64
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    })
}

/// The resource a thin notification names, as a path under the platform's API base, when the
/// reading still lacks what the resource gives (a buyer, a kind). `None`: not a thin
/// notification avisa fills in.
pub fn target(platform: Platform, req: &Request, reading: &Reading) -> Option<String> {
    let lacks = match reading.status {
        Status::Unmapped => true,
        Status::Invalid => matches!(
            reading.reason.as_ref().map(|r| r.code),
            Some(ReasonCode::NoPhone | ReasonCode::BadPhone)
        ),
        _ => false,
    };
    let event = reading.event.as_ref()?;
    if !lacks {
        return None;
    }
    let body = body_value(req).ok()?;
    match platform {
        Platform::Nuvemshop => {
            if !NUVEMSHOP_ORDER_EVENTS.contains(&event.platform_event.as_str()) {
                return None;
            }
            let store = path_id(text(&body, "store_id"))?;
            let order = path_id(event.order_id.clone())?;
            Some(format!("/{store}/orders/{order}"))
        }
        Platform::Mercadopago => {
            let topic = text(&body, "type")
                .or_else(|| text(&body, "topic"))
                .or_else(|| req.query_param("type"))
                .or_else(|| req.query_param("topic"))?;
            if topic != "payment" || event.kind.is_some() {
                return None;
            }
            let payment = path_id(event.order_id.clone())?;
            Some(format!("/v1/payments/{payment}"))
        }
        Platform::Asaas => {
            // A name without a kind stays unmapped whatever the customer is.
            event.kind?;
            let customer = [
                "payment.customer",
                "subscription.customer",
                "checkout.customer",
            ]
            .iter()
            .find_map(|p| text(&body, p));
            let customer = path_id(customer)?;
            Some(format!("/v3/customers/{customer}"))
        }
        Platform::Vindi => {
            // Every Vindi event names its customer (id, name, e-mail) and none carries a phone;
            // a name without a kind is not worth a call.
            event.kind?;
            let customer = [
                "event.data.bill.customer.id",
                "event.data.subscription.customer.id",
                "event.data.charge.customer.id",
                "event.data.charge.bill.customer.id",
                "event.data.bill.subscription.customer.id",
                "event.data.customer.id",
            ]
            .iter()
            .find_map(|p| text(&body, p));
            let customer = path_id(customer)?;
            Some(format!("/customers/{customer}"))
        }
        Platform::Iugu => {
            // Invoice triggers name the invoice; a subscription's id is not one. A trigger
            // without a kind is worth a fetch only while the invoice may be a boleto or PIX
            // waiting (the invoice's state gives the kind).
            let name = event.platform_event.as_str();
            let waiting = matches!(
                (name, text(&body, "data.status").as_deref()),
                ("invoice.created", _) | ("invoice.status_changed", Some("pending"))
            );
            if !name.starts_with("invoice.") || (event.kind.is_none() && !waiting) {
                return None;
            }
            let invoice = path_id(event.order_id.clone())?;
            Some(format!("/v1/invoices/{invoice}"))
        }
        Platform::Vtex => {
            // A state with a kind needs the buyer; payment-pending may be a boleto or PIX
            // waiting (the order's payment gives the kind). The others say nothing to a buyer.
            if event.kind.is_none() && event.platform_event != "payment-pending" {
                return None;
            }
            let order = path_id(event.order_id.clone())?;
            Some(format!("/api/oms/pvt/orders/{order}"))
        }
        Platform::Tray => {
            // Only order notifications name an order; a deleted one has nothing to fetch.
            if text(&body, "act").as_deref() == Some("delete") {
                return None;
            }
            let order = path_id(event.order_id.clone())?;
            Some(format!("/orders/{order}/complete"))
        }
        Platform::Mercadolivre => {
            // An order's notification; the other topics (shipments, questions …) name no order.
            if text(&body, "topic").as_deref() != Some("orders_v2") {
                return None;
            }
            let order = path_id(event.order_id.clone())?;
            Some(format!("/orders/{order}"))
        }
        Platform::Efi => {
            // A Pix on a charge (or its refund): the charge is the order. A Pix without txid
            // has no charge to fetch, and no kind.
            event.kind?;
            let txid = path_id(event.order_id.clone())?;
            Some(format!("/v2/cob/{txid}"))
        }
        Platform::Pagbank => {
            // Only the legacy API's notifications are thin: a code naming the transaction.
            let code = path_id(super::pagbank_legacy::notification_code(&body))?;
            Some(format!("/v3/transactions/notifications/{code}"))
        }
        _ => None,
    }
}

/// The call for a job: its URL (under `base_override` instead of the platform's own base, for
/// the tests' loopback stand-ins) and its headers, with the credential where the platform wants
/// it: the store's token, or for an OAuth platform (`enrich_oauth::oauth`) the access token it
/// was given (`access_token`; `None` then: no call). `None` for a platform avisa does not call.
pub fn call(
    platform: Platform,
    path: &str,
    credentials: &ApiCredentials,
    access_token: Option<&str>,
    base_override: Option<&str>,
) -> Option<(String, Vec<(String, String)>)> {
    if !credential(platform)?.missing(credentials).is_empty() {
        return None;
    }
    let base = base_of(platform, credentials, base_override)?;
    let token = credentials.get(TOKEN_FIELD).unwrap_or_default();
    let mut url = format!("{base}{path}");
    let auth = match platform {
        // Nuvemshop's header is `Authentication`, not `Authorization` (its API docs).
        Platform::Nuvemshop => Some(("Authentication", format!("bearer {token}"))),
        Platform::Mercadopago => Some(("Authorization", format!("Bearer {token}"))),
        Platform::Asaas => Some(("access_token", token.to_owned())),
        // iugu: HTTP Basic, the API token as the user and no password (its API docs).
        // Vindi: HTTP Basic, the API key as the user and no password (its API reference).
        Platform::Vindi => Some(("Authorization", format!("Basic {}", basic(token, "")))),
        Platform::Iugu => Some(("Authorization", format!("Basic {}", basic(token, "")))),
        Platform::Vtex => Some(("X-VTEX-API-AppToken", token.to_owned())),
        Platform::Mercadolivre | Platform::Efi => {
            Some(("Authorization", format!("Bearer {}", access_token?.trim())))
        }
        // Tray takes its access token only in the query string (its API docs): the URL then
        // holds a secret, so what the worker keeps of a failed call goes through `redact`.
        Platform::Tray => {
            let token: String =
                url::form_urlencoded::byte_serialize(access_token?.trim().as_bytes()).collect();
            url.push_str(&format!("?access_token={token}"));
            None
        }
        // PagBank's legacy API takes the account's e-mail and token in the query string too.
        Platform::Pagbank => {
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("email", credentials.get("email").unwrap_or_default().trim())
                .append_pair("token", token.trim())
                .finish();
            url.push_str(&format!("?{query}"));
            None
        }
        _ => return None,
    };
    // PagBank's legacy API answers XML (in ISO-8859-1, `pagbank_legacy`).
    let accept = match platform {
        Platform::Pagbank => "application/xml",
        _ => "application/json",
    };
    let mut headers = vec![("Accept".to_owned(), accept.to_owned())];
    if let Some((name, value)) = auth {
        headers.insert(0, (name.to_owned(), value));
    }
    if platform == Platform::Vtex {
        let key = credentials.get("app_key").unwrap_or_default().to_owned();
        headers.push(("X-VTEX-API-AppKey".to_owned(), key));
    }
    Some((url, headers))
}

/// `text` without any secret of `credentials` (as typed or URL-encoded), the kept access token
/// included: what is kept of a failed call (an error may quote the URL, and Tray's URL carries
/// its access token, or its refresh token when asking for one).
pub fn redact(platform: Platform, credentials: &ApiCredentials, text: &str) -> String {
    let mut out = text.to_owned();
    let session = credentials.session.as_ref().map(|s| s.access_token.trim());
    let secrets = credential(platform)
        .map(|c| c.fields)
        .unwrap_or_default()
        .iter()
        .filter(|f| f.secret)
        .filter_map(|f| credentials.get(f.name))
        .chain(session.filter(|t| !t.is_empty()));
    for secret in secrets {
        let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        out = out.replace(&encoded, "••••").replace(secret, "••••");
    }
    out
}

/// The `user:password` pair of HTTP Basic, base64.
fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

/// The reason an event given up carries.
pub fn give_up_reason(give_up: GiveUp) -> Reason {
    Reason {
        code: match give_up {
            GiveUp::TokenInvalid => ReasonCode::ApiTokenInvalid,
            GiveUp::TokenExpired => ReasonCode::ApiTokenExpired,
            GiveUp::NotFound => ReasonCode::ApiNotFound,
            GiveUp::NoAnswer => ReasonCode::ApiNoAnswer,
            GiveUp::Unreadable => ReasonCode::ApiUnreadable,
            GiveUp::NoCredentials => ReasonCode::ApiNoCredentials,
            GiveUp::CertificateRefused => ReasonCode::ApiCertificateRefused,
        },
        detail: give_up.detail().to_owned(),
    }
}

/// Re-reads a thin event with the resource the platform's API answered: the recogniser reads the
/// resource, the notification keeps its name, its id and its kind when it had one (the
/// resource's state gives the kind otherwise), and the reading is finished like any other
/// (status, reason, a dedup key from the facts). `Err` says why the body is not the resource.
pub fn merge(platform: Platform, thin: &Event, resource: &[u8]) -> Result<Reading, String> {
    if platform == Platform::Pagbank {
        let mut draft = Draft {
            event: thin.clone(),
            ..Draft::default()
        };
        super::pagbank_legacy::read_transaction(&mut draft, resource)?;
        return Ok(super::finish_mapped(platform, draft, None));
    }
    let req = Request::new(resource, &[], "");
    let value = body_value(&req).map_err(|e| e.to_string())?;
    let draft = match platform {
        Platform::Nuvemshop | Platform::Mercadopago => {
            let read = match platform {
                Platform::Nuvemshop => super::nuvemshop::parse(&req),
                _ => super::mercadopago::parse(&req),
            };
            let mut draft = read
                .map_err(|e| e.to_string())?
                .into_iter()
                .next()
                .ok_or("no resource in the answer")?;
            if !draft.event.platform_event.contains("(resource)") {
                return Err("the answer is not an order or payment resource".into());
            }
            if draft.event.order_id != thin.order_id {
                return Err(format!(
                    "the answer is resource {:?}, not {:?}",
                    draft.event.order_id, thin.order_id
                ));
            }
            let e = &mut draft.event;
            e.kind = thin.kind.or(e.kind);
            e.platform_event = thin.platform_event.clone();
            e.event_id = thin.event_id.clone();
            e.occurred_at = thin.occurred_at.clone().or(e.occurred_at.take());
            draft.delivery_id = None;
            draft
        }
        Platform::Asaas => {
            if text(&value, "object").as_deref() != Some("customer") {
                return Err("the answer is not an Asaas customer".into());
            }
            let mut draft = Draft {
                event: thin.clone(),
                ..Draft::default()
            };
            read_asaas_customer(&mut draft, &value);
            draft
        }
        Platform::Vindi => {
            let customer = at(&value, "customer")
                .filter(|c| c.get("id").is_some())
                .ok_or("the answer is not a Vindi customer")?;
            let mut draft = Draft {
                event: thin.clone(),
                ..Draft::default()
            };
            read_vindi_customer(&mut draft, customer);
            draft
        }
        Platform::Iugu | Platform::Vtex | Platform::Tray => {
            let mut draft = Draft {
                event: thin.clone(),
                ..Draft::default()
            };
            match platform {
                Platform::Iugu => super::iugu::read_invoice(&mut draft, &value)?,
                Platform::Vtex => super::vtex::read_order(&mut draft, &value)?,
                _ => super::tray::read_order(&mut draft, &value)?,
            }
            draft
        }
        Platform::Mercadolivre => {
            let mut draft = super::mercadolivre::read_order(&value)?;
            if draft.event.order_id != thin.order_id {
                return Err(format!(
                    "the answer is order {:?}, not {:?}",
                    draft.event.order_id, thin.order_id
                ));
            }
            let e = &mut draft.event;
            e.kind = thin.kind.or(e.kind);
            e.platform_event = thin.platform_event.clone();
            e.event_id = thin.event_id.clone();
            draft
        }
        Platform::Efi => {
            if text(&value, "txid") != thin.order_id {
                return Err(format!(
                    "the answer is charge {:?}, not {:?}",
                    text(&value, "txid"),
                    thin.order_id
                ));
            }
            let mut draft = Draft {
                event: thin.clone(),
                ..Draft::default()
            };
            super::efi::read_cob(&mut draft, &value)?;
            draft
        }
        _ => return Err(format!("avisa does not read {} resources", platform.id())),
    };
    Ok(withheld(
        platform,
        super::finish_mapped(platform, draft, None),
    ))
}

/// A resource read whole that still has no phone, from a platform that never gives one: the
/// reason says so (the merchant cannot make the phone required there).
fn withheld(platform: Platform, mut reading: Reading) -> Reading {
    let detail = match platform {
        Platform::Mercadolivre => {
            "o Mercado Livre não compartilha o telefone do comprador com o vendedor: o pedido \
             traz o nome e o estado, não o telefone"
        }
        Platform::Efi => {
            "a Efí não informa o telefone do pagador: a cobrança Pix traz o valor, o estado, o \
             código copia-e-cola e o nome e CPF do devedor, não o telefone"
        }
        _ => return reading,
    };
    if reading.status == Status::Invalid
        && reading.reason.as_ref().map(|r| r.code) == Some(ReasonCode::NoPhone)
    {
        reading.reason = Some(Reason {
            code: ReasonCode::PhoneWithheld,
            detail: detail.to_owned(),
        });
    }
    reading
}

/// GET /v3/customers/{id}: the mobile phone first (WhatsApp lives there), then the phone.
fn read_asaas_customer(draft: &mut Draft, customer: &Value) {
    draft.phone(text(customer, "mobilePhone"));
    draft.phone(text(customer, "phone"));
    let c = &mut draft.event.customer;
    c.name = text(customer, "name").or(c.name.take());
    c.first_name = None;
    c.email = text(customer, "email").or(c.email.take());
    c.document = text(customer, "cpfCnpj").or(c.document.take());
}

/// GET /v1/customers/{id} (`{"customer": {…}}`): the mobile phone first, then any other.
fn read_vindi_customer(draft: &mut Draft, customer: &Value) {
    let phones = list(customer, "phones");
    let mobile = phones
        .iter()
        .find(|p| text(p, "phone_type").as_deref() == Some("mobile"));
    for phone in mobile.into_iter().chain(phones.iter()) {
        draft.phone(text(phone, "number"));
    }
    let c = &mut draft.event.customer;
    c.name = text(customer, "name").or(c.name.take());
    c.email = text(customer, "email").or(c.email.take());
    c.document = text(customer, "registry_code").or(c.document.take());
}
