//! Each platform's integration guide, read from its recogniser: the notifications it maps (the
//! recogniser's own `EVENTS` table, the one its parser looks names up in), where it finds the
//! event's name, and how a delivery proves where it came from. The console's "Integrações" page
//! and `docs/integrations.md` are generated from this, so they cannot drift from the code.
//! Pure: no I/O.

use crate::domain::{EventKind, Platform};

/// A recogniser's table: the name as the platform writes it, and the kind avisa reads it as
/// (`None`: documented, but nothing to tell the buyer).
pub type EventTable = &'static [(&'static str, Option<EventKind>)];

/// What the guide says about one platform.
#[derive(Clone, Copy, Debug)]
pub struct Guide {
    pub platform: Platform,
    /// Where the recogniser reads the event's name (pt-BR).
    pub recognised_by: &'static str,
    /// How a delivery proves it came from the platform (pt-BR).
    pub signature: &'static str,
    /// The recogniser's tables; empty when its names are decided by code not yet put in a table.
    pub tables: &'static [EventTable],
}

/// One row of a platform's notification table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    /// The step of the happy path (see [`priority`]); `None` for names avisa does not message.
    pub priority: Option<u8>,
    pub kind: Option<EventKind>,
    pub name: &'static str,
}

/// An event's step in the happy path of an order: 1 cart, 2 charge issued, 3 charge in trouble,
/// 4 paid, 5 delivery, 6 closed otherwise. A payment (4) cancels the order's pending messages of
/// steps 1–3 (`domain::planning::closed_by_payment`); 7 is the merchant's own (custom) kinds.
pub fn priority(kind: EventKind) -> u8 {
    use EventKind::*;
    match kind {
        CheckoutAbandoned => 1,
        BoletoGenerated | PixGenerated | PaymentInReview => 2,
        PaymentRefused | PaymentOverdue | PaymentExpired | SubscriptionOverdue => 3,
        OrderPaid | SubscriptionStarted | SubscriptionRenewed | AccessGranted | ApiSend => 4,
        OrderShipped
        | ShippingOutForDelivery
        | ShippingAwaitingPickup
        | ShippingDelivered
        | ShippingProblem
        | OrderCompleted => 5,
        OrderCanceled | OrderRefunded | OrderChargeback | SubscriptionCanceled => 6,
        // The merchant's own kinds are outside the order's journey; no platform table names one.
        Custom(_) => 7,
    }
}

impl Guide {
    /// Every row of the platform's tables, in happy-path order (names avisa does not message
    /// last), each name once.
    pub fn rows(&self) -> Vec<Row> {
        let mut rows: Vec<Row> = Vec::new();
        for table in self.tables {
            for (name, kind) in *table {
                if rows.iter().all(|r| r.name != *name) {
                    rows.push(Row {
                        priority: kind.map(priority),
                        kind: *kind,
                        name,
                    });
                }
            }
        }
        rows.sort_by_key(|r| (r.priority.unwrap_or(u8::MAX), r.kind, r.name));
        rows
    }
}

/// The guide of every platform, in the store form's order.
pub fn guides() -> Vec<Guide> {
    Platform::ALL.into_iter().map(guide).collect()
}

/// The guide of one platform.
pub fn guide(platform: Platform) -> Guide {
    use super::*;
    let (recognised_by, signature, tables): (&str, &str, &[EventTable]) = match platform {
        Platform::Hotmart => (
            "campo `event` (webhook 2.0)",
            "token estático (hottok) no cabeçalho `X-HOTMART-HOTTOK` (entregas antigas: campo `hottok`)",
            &[hotmart::EVENTS],
        ),
        Platform::Kiwify => (
            "campo `webhook_event_type`; carrinho abandonado: `status: abandoned`",
            "HMAC-SHA1 do corpo com o token, no parâmetro `?signature=` da URL (ou cabeçalho `X-Kiwify-Signature`)",
            &[kiwify::EVENTS],
        ),
        Platform::Eduzz => (
            "campo `event` (webhooks novos) ou `type`/`trans_status` (Órbita, legado)",
            "HMAC-SHA256 do corpo no cabeçalho `x-signature`; legado: chave `origin` no corpo",
            &[eduzz::EVENTS],
        ),
        Platform::Ticto => (
            "campo `status` (refinado pela forma de pagamento)",
            "token estático no campo `token` do corpo",
            &[ticto::EVENTS],
        ),
        Platform::Appmax => (
            "campo `event`",
            "nenhuma: a URL secreta é a proteção",
            &[appmax::EVENTS],
        ),
        Platform::Braip => (
            "campo `trans_status` (e `type: ABANDONO`)",
            "chave estática no campo `basic_authentication` do corpo",
            &[braip::EVENTS],
        ),
        Platform::Guru => (
            "campo `status` da transação (assinaturas: `status` da assinatura, ainda fora da tabela)",
            "token da conta no campo `api_token` do corpo",
            &[guru::EVENTS],
        ),
        Platform::Kirvano => (
            "campo `event`",
            "token no cabeçalho `security-token` (ou `x-kirvano-token`)",
            &[kirvano::EVENTS],
        ),
        Platform::Greenn => (
            "campo `type` com o `status` da venda ou do contrato",
            "token no corpo, na URL ou em cabeçalho (`x-greenn-token`, `Authorization: Bearer`)",
            &[],
        ),
        Platform::Perfectpay => (
            "campo `sale_status_enum` (e `subscription.status_event`)",
            "token da conta no campo `token` do corpo",
            &[],
        ),
        Platform::Monetizze => (
            "campo `venda.codigo_status` (e o tipo de postback)",
            "chave única no campo `chave_unica` do corpo",
            &[],
        ),
        Platform::Shopify => (
            "cabeçalho `X-Shopify-Topic`",
            "HMAC-SHA256 (base64) do corpo no cabeçalho `X-Shopify-Hmac-Sha256`",
            &[],
        ),
        Platform::Woocommerce => (
            "campo `status` do pedido (pendente com boleto ou PIX: cobrança gerada)",
            "HMAC-SHA256 (base64) do corpo no cabeçalho `X-WC-Webhook-Signature`",
            &[woocommerce::EVENTS],
        ),
        Platform::Nuvemshop => (
            "campo `event` (a notificação traz só o id do pedido)",
            "HMAC-SHA256 do corpo no cabeçalho `X-Linkedstore-HMAC-SHA256`",
            &[nuvemshop::EVENTS],
        ),
        Platform::Pagarme => (
            "campo `type` (v5) ou `current_status` (postback v4)",
            "v5: credenciais Basic no cabeçalho `Authorization`; v4: HMAC-SHA1 em `X-Hub-Signature`",
            &[],
        ),
        Platform::Mercadopago => (
            "campos `type`/`action` (a notificação traz só o id do pagamento)",
            "HMAC-SHA256 no cabeçalho `x-signature` (id, request-id e horário)",
            &[],
        ),
        Platform::Stripe => (
            "campo `type`",
            "HMAC-SHA256 no cabeçalho `Stripe-Signature`, com horário (5 minutos de tolerância)",
            &[],
        ),
        Platform::Cakto => (
            "campo `event`",
            "HMAC-SHA256 no cabeçalho `X-Cakto-Signature` (com `X-Cakto-Timestamp`); entregas antigas: campo `secret`",
            &[cakto::EVENTS],
        ),
        Platform::Hubla => (
            "campo `type`",
            "token no cabeçalho `x-hubla-token`",
            &[hubla::EVENTS],
        ),
        Platform::Payt => (
            "campo `status`",
            "chave no campo `integration_key` do corpo",
            &[payt::EVENTS],
        ),
        Platform::Pepper => (
            "campo `status`",
            "nenhuma documentada: a URL secreta é a proteção",
            &[pepper::EVENTS],
        ),
        Platform::B4you => (
            "campo `event_name`",
            "token em `Authorization: Bearer` e `X-API-Token`",
            &[b4you::EVENTS],
        ),
        Platform::Vtex => (
            "campo `State` do hook de pedidos",
            "nenhuma: a VTEX devolve só os cabeçalhos fixos que você configurar",
            &[vtex::EVENTS],
        ),
        Platform::Tray => (
            "campos `scope_name` e `act` (formulário; só o id do pedido)",
            "nenhuma",
            &[tray::EVENTS],
        ),
        Platform::Mercadolivre => (
            "campo `topic` (só o recurso `/orders/{id}`)",
            "nenhuma",
            &[mercadolivre::EVENTS],
        ),
        Platform::Asaas => (
            "campo `event`",
            "token no cabeçalho `asaas-access-token`",
            &[asaas::EVENTS],
        ),
        Platform::Iugu => (
            "campo `event` (formulário) e `data[status]`",
            "valor do cabeçalho `Authorization` configurado no gatilho",
            &[iugu::EVENTS],
        ),
        Platform::Vindi => (
            "campo `event.type`",
            "nenhuma: a URL secreta (ou autenticação básica nela) é a proteção",
            &[vindi::EVENTS],
        ),
        Platform::Efi => (
            "forma do corpo: `pix[]` recebido ou com `devolucoes`",
            "segredo no parâmetro `?hmac=` da URL (a Efí usa mTLS, que o avisa atrás de um proxy não vê)",
            &[efi::EVENTS],
        ),
        Platform::Pagbank => (
            "`status` das cobranças (`charges[]`) ou do checkout",
            "SHA-256 de `token-corpo` no cabeçalho `x-authenticity-token`",
            &[pagbank::EVENTS],
        ),
        Platform::Paypal => (
            "campo `event_type`",
            "assinatura RSA com certificado baixado do PayPal: o avisa não consegue conferir sem acesso à rede",
            &[paypal::EVENTS],
        ),
        Platform::Api => (
            "campo `kind`: o nome do tipo de evento do avisa",
            "`Authorization: Bearer <segredo>` ou cabeçalho `X-Avisa-Token`",
            &[],
        ),
        Platform::Custom => (
            "o campo que você escolher no mapeamento da loja",
            "a que você escolher no mapeamento da loja",
            &[],
        ),
    };
    Guide {
        platform,
        recognised_by,
        signature,
        tables,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_follow_the_happy_path_and_names_without_a_message_come_last() {
        let rows = guide(Platform::Appmax).rows();
        let first = rows.first().expect("rows");
        assert_eq!(first.kind, Some(EventKind::CheckoutAbandoned));
        assert_eq!(first.priority, Some(1));
        let priorities: Vec<u8> = rows.iter().map(|r| r.priority.unwrap_or(u8::MAX)).collect();
        let mut sorted = priorities.clone();
        sorted.sort_unstable();
        assert_eq!(priorities, sorted);
        assert!(rows.last().is_some_and(|r| r.kind.is_none()));
    }

    #[test]
    fn every_row_is_what_the_recogniser_looks_the_name_up_as() {
        for g in guides() {
            for table in g.tables {
                for (name, kind) in *table {
                    assert_eq!(
                        super::super::common::table_kind(table, name),
                        *kind,
                        "{}: {name} is listed twice with different kinds",
                        g.platform.id()
                    );
                }
            }
        }
    }
}
