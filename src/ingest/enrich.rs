//! Thin notifications: which platforms' webhooks name a resource without the buyer, which API
//! call returns it (`target`, `call`), and the re-reading of the event with the fetched resource
//! (`merge`, through the platform's own recogniser). The queue and the schedule are
//! `domain::enrichment`'s; the call is made by `queue::enrich`. Pure: no I/O.

use serde_json::Value;

use super::common::{body_value, text};
use super::{Draft, Reading, Reason, ReasonCode, Request, Status};
use crate::domain::enrichment::{ApiCredentials, GiveUp, TOKEN_FIELD};
use crate::domain::{Event, Platform};

/// What a platform's API needs from the merchant, for the store form and the integrations
/// reference (pt-BR): one field or several (VTEX's account, app key and app token).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Credential {
    pub fields: &'static [Field],
}

/// One value of a platform's credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// The form field's and the stored value's name (`token` is `ApiCredentials::token`).
    pub name: &'static str,
    /// The field's label.
    pub label: &'static str,
    /// Where the merchant finds it and what avisa calls with it.
    pub help: &'static str,
    /// Shown masked, never in full, never put back in the form (a token, a key); otherwise
    /// shown as saved (an account name, an address).
    pub secret: bool,
}

impl Credential {
    /// The fields `credentials` lacks (blank counts as missing).
    pub fn missing(&self, credentials: &ApiCredentials) -> Vec<&'static Field> {
        self.fields
            .iter()
            .filter(|f| credentials.get(f.name).is_none())
            .collect()
    }
}

/// The credential each platform whose thin notifications avisa fills in needs; `None`: avisa
/// does not call that platform's API.
pub fn credential(platform: Platform) -> Option<Credential> {
    Some(match platform {
        Platform::Nuvemshop => NUVEMSHOP,
        Platform::Mercadopago => MERCADOPAGO,
        Platform::Asaas => ASAAS,
        Platform::Mercadolivre => super::enrich_oauth::MERCADOLIVRE,
        Platform::Efi => super::enrich_oauth::EFI,
        _ => return None,
    })
}

const NUVEMSHOP: Credential = Credential {
    fields: &[Field {
        name: TOKEN_FIELD,
        label: "Access token do aplicativo",
        help: "o access_token que a Nuvemshop entrega ao instalar o seu aplicativo (escopo de \
               leitura de pedidos). Com ele o avisa busca cada pedido notificado: \
               GET /{store_id}/orders/{id}.",
        secret: true,
    }],
};

const MERCADOPAGO: Credential = Credential {
    fields: &[Field {
        name: TOKEN_FIELD,
        label: "Access token de produção",
        help: "Mercado Pago → Suas integrações → a aplicação → Credenciais de produção → \
               Access token (APP_USR-…). Com ele o avisa busca cada pagamento notificado: \
               GET /v1/payments/{id}.",
        secret: true,
    }],
};

const ASAAS: Credential = Credential {
    fields: &[Field {
        name: TOKEN_FIELD,
        label: "Chave de API",
        help: "Asaas → Integrações → Chave de API ($aact_…). Com ela o avisa busca o cliente \
               de cada cobrança (nome, e-mail, celular): GET /v3/customers/{id}.",
        secret: true,
    }],
};

/// What the integrations reference says about a platform's API (pt-BR): the credential avisa
/// needs to fill in its thin notifications, or that they are thin and not filled in yet; `None`
/// for a platform whose webhooks carry the buyer.
pub fn api_note(platform: Platform) -> Option<String> {
    if let Some(c) = credential(platform) {
        let fields: Vec<String> = c
            .fields
            .iter()
            .map(|f| format!("{}: {}", f.label, f.help.trim_end_matches('.')))
            .collect();
        let note = match &fields[..] {
            [one] => one.replacen(": ", " (na página da loja, \"API da plataforma\"): ", 1),
            many => format!(
                "na página da loja, \"API da plataforma\": {}",
                many.join("; ")
            ),
        };
        return Some(format!("{note}."));
    }
    THIN_NOT_FILLED.contains(&platform).then(|| {
        "as notificações trazem só o id do pedido ou da cobrança; o avisa ainda não busca \
             os dados na API desta plataforma (o comprador vem de um evento anterior do mesmo \
             pedido, quando houver)"
            .to_owned()
    })
}

/// Platforms whose webhooks are thin (`SOURCES.md`, "Thin notifications") and whose API avisa
/// does not call yet.
const THIN_NOT_FILLED: [Platform; 5] = [
    Platform::Iugu,
    Platform::Vtex,
    Platform::Tray,
    Platform::Vindi,
    Platform::Pagbank,
];

/// Where each platform's API lives (production).
fn base(platform: Platform) -> Option<&'static str> {
    Some(match platform {
        Platform::Nuvemshop => "https://api.nuvemshop.com.br/v1",
        Platform::Mercadopago => "https://api.mercadopago.com",
        Platform::Asaas => "https://api.asaas.com",
        Platform::Mercadolivre => "https://api.mercadolibre.com",
        // The Pix API's production host; every call there is mutual TLS.
        Platform::Efi => "https://pix.api.efipay.com.br",
        _ => return None,
    })
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
        _ => None,
    }
}

/// The platform's API base: `base_override` (the tests' loopback stand-ins) or its own.
pub(super) fn base_of(platform: Platform, base_override: Option<&str>) -> Option<String> {
    let base = base_override.or(base(platform))?;
    Some(base.trim_end_matches('/').to_owned())
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
    let base = base_of(platform, base_override)?;
    if !credential(platform)?.missing(credentials).is_empty() {
        return None;
    }
    let token = credentials.get(TOKEN_FIELD).unwrap_or_default();
    let auth = match platform {
        // Nuvemshop's header is `Authentication`, not `Authorization` (its API docs).
        Platform::Nuvemshop => ("Authentication", format!("bearer {token}")),
        Platform::Mercadopago => ("Authorization", format!("Bearer {token}")),
        Platform::Asaas => ("access_token", token.to_owned()),
        Platform::Mercadolivre | Platform::Efi => {
            ("Authorization", format!("Bearer {}", access_token?.trim()))
        }
        _ => return None,
    };
    let headers = vec![
        (auth.0.to_owned(), auth.1),
        ("Accept".to_owned(), "application/json".to_owned()),
    ];
    Some((format!("{base}{path}"), headers))
}

/// The reason an event given up carries.
pub fn give_up_reason(give_up: GiveUp) -> Reason {
    Reason {
        code: match give_up {
            GiveUp::TokenInvalid => ReasonCode::ApiTokenInvalid,
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
