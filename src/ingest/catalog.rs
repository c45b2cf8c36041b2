//! Each platform's integration guide, read from its recogniser: the notifications it maps (the
//! recogniser's own `EVENTS` table, the one its parser looks names up in), where it finds the
//! event's name, and how a delivery proves where it came from. The console's "Integrações" page
//! and `docs/integrations.md` are generated from this, so they cannot drift from the code.
//! Pure: no I/O.

use crate::domain::{EventKind, PaymentMethod, Platform};

/// A recogniser's table: the name as the platform writes it, and the kind avisa reads it as
/// (`None`: documented, but nothing to tell the buyer).
pub type EventTable = &'static [(&'static str, Option<EventKind>)];

/// Every kind a recogniser's table lists for a name, in the table's order. A name the platform
/// sends in more than one situation (an order awaiting payment: a boleto, a PIX code or a card
/// in review) is listed once per kind it can become, and the recogniser picks one by the body.
pub fn table_kinds(table: EventTable, name: &str) -> Vec<EventKind> {
    table
        .iter()
        .filter(|(n, _)| *n == name)
        .filter_map(|(_, k)| *k)
        .collect()
}

/// `picked` when the table lists it for `name`, else `None`: a recogniser that refines a name by
/// the body can only answer what its table (and so the Integrações page) says.
pub fn table_pick(table: EventTable, name: &str, picked: Option<EventKind>) -> Option<EventKind> {
    let picked = picked?;
    table
        .iter()
        .any(|(n, k)| *n == name && *k == Some(picked))
        .then_some(picked)
}

/// The one kind the table lists for `name`, or the one `pick` chooses among several (`pick` sees
/// the listed kinds; what it answers must be one of them).
pub fn table_choose(
    table: EventTable,
    name: &str,
    pick: impl FnOnce(&[EventKind]) -> Option<EventKind>,
) -> Option<EventKind> {
    match table_kinds(table, name).as_slice() {
        [] => None,
        [one] => Some(*one),
        several => table_pick(table, name, pick(several)),
    }
}

/// What "awaiting payment" tells the buyer for each method: the boleto or the PIX code is out,
/// or the card is being analysed.
pub fn awaiting_kind(method: Option<PaymentMethod>) -> Option<EventKind> {
    match method? {
        PaymentMethod::Boleto => Some(EventKind::BoletoGenerated),
        PaymentMethod::Pix => Some(EventKind::PixGenerated),
        PaymentMethod::CreditCard => Some(EventKind::PaymentInReview),
        PaymentMethod::Other => None,
    }
}

/// What the guide says about one platform.
#[derive(Clone, Copy, Debug)]
pub struct Guide {
    pub platform: Platform,
    /// Where the recogniser reads the event's name (pt-BR).
    pub recognised_by: &'static str,
    /// How a delivery proves it came from the platform (pt-BR).
    pub signature: &'static str,
    /// Whether the platform sends tracking variables (UTMs) and where avisa reads them (pt-BR):
    /// "sim: …" or "não: …".
    pub tracking: &'static str,
    /// The recogniser's tables; empty only for the merchant's own mapping (`custom`).
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
    /// last), each name once per kind it can become.
    pub fn rows(&self) -> Vec<Row> {
        let mut rows: Vec<Row> = Vec::new();
        for table in self.tables {
            for (name, kind) in *table {
                if rows.iter().all(|r| r.name != *name || r.kind != *kind) {
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
    let (recognised_by, signature, tracking, tables): (&str, &str, &str, &[EventTable]) =
        match platform {
            Platform::Hotmart => (
                "campo `event` (webhook 2.0)",
                "token estático (hottok) no cabeçalho `X-HOTMART-HOTTOK` (entregas antigas: campo `hottok`)",
                "sim: `purchase.origin` (`src`, `sck` e `xcod`)",
                &[hotmart::EVENTS],
            ),
            Platform::Kiwify => (
                "campo `webhook_event_type`; carrinho abandonado: `status: abandoned`",
                "HMAC-SHA1 do corpo com o token, no parâmetro `?signature=` da URL (ou cabeçalho `X-Kiwify-Signature`)",
                "sim: `TrackingParameters` (`utm_*` e `src`)",
                &[kiwify::EVENTS],
            ),
            Platform::Eduzz => (
                "campo `event` (webhooks novos) ou `type`/`trans_status` (Órbita, legado)",
                "HMAC-SHA256 do corpo no cabeçalho `x-signature`; legado: chave `origin` no corpo",
                "sim: `utm` (webhooks novos) ou `utm_*`/`tracker_utm_*` (legado)",
                &[eduzz::EVENTS, eduzz::OTHER_APPS],
            ),
            Platform::Ticto => (
                "campo `status` (refinado pela forma de pagamento)",
                "token estático no campo `token` do corpo",
                "sim: `tracking.utm_*`",
                &[ticto::EVENTS],
            ),
            Platform::Appmax => (
                "campo `event`",
                "nenhuma: a URL secreta é a proteção",
                "não: a Appmax não envia UTMs no webhook",
                &[appmax::EVENTS],
            ),
            Platform::Braip => (
                "campo `trans_status` (e `type: ABANDONO`)",
                "chave estática no campo `basic_authentication` do corpo",
                "sim: `meta.utm_*` (e `meta.src`)",
                &[braip::EVENTS],
            ),
            Platform::Guru => (
                "campo `status` da transação (assinaturas: `status` da assinatura, ainda fora da tabela)",
                "token da conta no campo `api_token` do corpo",
                "sim: `source.utm_*` da transação",
                &[guru::EVENTS],
            ),
            Platform::Kirvano => (
                "campo `event`",
                "token no cabeçalho `security-token` (ou `x-kirvano-token`)",
                "sim: `utm.utm_*`",
                &[kirvano::EVENTS],
            ),
            Platform::Greenn => (
                "campos `event` e `currentStatus`, escritos `event:currentStatus`; aguardando pagamento conforme a forma de pagamento, assinatura paga conforme o status anterior (primeira cobrança ou renovação)",
                "token no corpo, na URL ou em cabeçalho (`x-greenn-token`, `Authorization: Bearer`)",
                "sim: `utm_*` em `saleMetas`, `productMetas` ou `proposalMetas`",
                &[greenn::EVENTS],
            ),
            Platform::Perfectpay => (
                "campo `sale_status_enum` (o código, com o nome da tabela) e `subscription.status_event`; pendente conforme a forma de pagamento; aprovada com `subscription.charges_made` acima de 1 é renovação",
                "token da conta no campo `token` do corpo",
                "sim: `metadata.utm_*`",
                &[perfectpay::EVENTS, perfectpay::SUBSCRIPTIONS],
            ),
            Platform::Monetizze => (
                "código `tipoEvento.codigo` (ou `postback_evento`); aguardando pagamento conforme a forma de pagamento; rastreio (120) pelo `rastreio.status`",
                "chave única no campo `chave_unica` do corpo",
                "sim: `venda.utm_*` (e `venda.src`)",
                &[monetizze::EVENTS, monetizze::TRACKING],
            ),
            Platform::Shopify => (
                "cabeçalho `X-Shopify-Topic`; pedido criado só com pagamento pendente (boleto ou PIX); envios pelo `shipment_status`",
                "HMAC-SHA256 (base64) do corpo no cabeçalho `X-Shopify-Hmac-Sha256`",
                "sim: `utm_*` da URL de entrada (`landing_site`)",
                &[shopify::EVENTS, shopify::SHIPMENTS],
            ),
            Platform::Woocommerce => (
                "campo `status` do pedido (pendente com boleto ou PIX: cobrança gerada)",
                "HMAC-SHA256 (base64) do corpo no cabeçalho `X-WC-Webhook-Signature`",
                "não: o pedido do WooCommerce não traz UTMs",
                &[woocommerce::EVENTS],
            ),
            Platform::Nuvemshop => (
                "campo `event` (a notificação traz só o id do pedido)",
                "HMAC-SHA256 do corpo no cabeçalho `X-Linkedstore-HMAC-SHA256`",
                "sim: `utm_*` da URL de entrada (`landing_site`) do pedido consultado",
                &[nuvemshop::EVENTS],
            ),
            Platform::Pagarme => (
                "campo `type` (v5) ou `event:current_status` (postback v4); cobrança pendente conforme a forma de pagamento",
                "v5: credenciais Basic no cabeçalho `Authorization`; v4: HMAC-SHA1 em `X-Hub-Signature`",
                "não: o Pagar.me não envia UTMs",
                &[pagarme::EVENTS, pagarme::EVENTS_V4],
            ),
            Platform::Mercadopago => (
                "campo `type` (ou `topic`); a notificação traz só o id do pagamento: o tipo vem do `status` do pagamento consultado na API, conforme a forma de pagamento",
                "HMAC-SHA256 no cabeçalho `x-signature` (id, request-id e horário)",
                "não: o Mercado Pago não envia UTMs",
                &[mercadopago::EVENTS, mercadopago::PAYMENTS],
            ),
            Platform::Stripe => (
                "campo `type`, conferido no objeto do evento (`payment_status`, `billing_reason`, `status` da assinatura)",
                "HMAC-SHA256 no cabeçalho `Stripe-Signature`, com horário (5 minutos de tolerância)",
                "não: o Stripe não envia UTMs",
                &[stripe::EVENTS],
            ),
            Platform::Cakto => (
                "campo `event`",
                "HMAC-SHA256 no cabeçalho `X-Cakto-Signature` (com `X-Cakto-Timestamp`); entregas antigas: campo `secret`",
                "sim: `utm_*` do pedido (e `sck`)",
                &[cakto::EVENTS],
            ),
            Platform::Hubla => (
                "campo `type`",
                "token no cabeçalho `x-hubla-token`",
                "sim: `utmSource`, `utmMedium`, `utmCampaign`, `utmContent`, `utmTerm`",
                &[hubla::EVENTS],
            ),
            Platform::Payt => (
                "campo `status`",
                "chave no campo `integration_key` do corpo",
                "sim: `link.query_params` (ou os `utm_*` de `link.url`)",
                &[payt::EVENTS],
            ),
            Platform::Pepper => (
                "campo `status`",
                "nenhuma documentada: a URL secreta é a proteção",
                "sim: `utm_*` (e `src`, `sck`)",
                &[pepper::EVENTS],
            ),
            Platform::B4you => (
                "campo `event_name`",
                "token em `Authorization: Bearer` e `X-API-Token`",
                "sim: `tracking_parameters` (`utm_*`, `src`, `sck`)",
                &[b4you::EVENTS],
            ),
            Platform::Vtex => (
                "campo `State` do hook de pedidos",
                "nenhuma: a VTEX devolve só os cabeçalhos fixos que você configurar",
                "não: o hook traz só o número e o status do pedido",
                &[vtex::EVENTS],
            ),
            Platform::Tray => (
                "campos `scope_name` e `act` (formulário; só o id do pedido)",
                "nenhuma",
                "não: a notificação traz só o número do pedido",
                &[tray::EVENTS],
            ),
            Platform::Mercadolivre => (
                "campo `topic` (só o recurso `/orders/{id}`)",
                "nenhuma",
                "não: a notificação traz só o recurso",
                &[mercadolivre::EVENTS],
            ),
            Platform::Asaas => (
                "campo `event`",
                "token no cabeçalho `asaas-access-token`",
                "não: o Asaas não envia UTMs",
                &[asaas::EVENTS],
            ),
            Platform::Iugu => (
                "campo `event` (formulário) e `data[status]`",
                "valor do cabeçalho `Authorization` configurado no gatilho",
                "não: a iugu não envia UTMs",
                &[iugu::EVENTS],
            ),
            Platform::Vindi => (
                "campo `event.type`",
                "nenhuma: a URL secreta (ou autenticação básica nela) é a proteção",
                "não: a Vindi não envia UTMs",
                &[vindi::EVENTS],
            ),
            Platform::Efi => (
                "forma do corpo: `pix[]` recebido ou com `devolucoes`",
                "segredo no parâmetro `?hmac=` da URL (a Efí usa mTLS, que o avisa atrás de um proxy não vê)",
                "não: a notificação Pix não traz UTMs",
                &[efi::EVENTS],
            ),
            Platform::Pagbank => (
                "`status` das cobranças (`charges[]`) ou do checkout; numa notificação legada \
                 (`notificationCode`), o `status` da transação que o avisa busca na API",
                "SHA-256 de `token-corpo` no cabeçalho `x-authenticity-token`; as notificações \
                 legadas não são assinadas: o avisa lê a transação no PagBank com o seu token",
                "não: o PagBank não envia UTMs",
                &[pagbank::EVENTS],
            ),
            Platform::Paypal => (
                "campo `event_type`",
                "assinatura RSA com certificado baixado do PayPal: o avisa não consegue conferir sem acesso à rede",
                "não: o PayPal não envia UTMs",
                &[paypal::EVENTS],
            ),
            Platform::Api => (
                "campo `kind`: o nome do tipo de evento do avisa (ou `custom.<nome>` de um tipo seu)",
                "`Authorization: Bearer <segredo>` ou cabeçalho `X-Avisa-Token`",
                "sim: `utm.source`, `utm.medium`, `utm.campaign`, `utm.content`, `utm.term`",
                &[api::EVENTS],
            ),
            Platform::Custom => (
                "o campo que você escolher no mapeamento da loja",
                "a que você escolher no mapeamento da loja",
                "os campos `utm.*` que você apontar no mapeamento da loja",
                &[],
            ),
        };
    Guide {
        platform,
        recognised_by,
        signature,
        tracking,
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

    /// Every recogniser looks its names up in a table the guide shows; only the merchant's own
    /// mapping has none (its table is the mapping).
    #[test]
    fn every_platform_but_the_custom_mapping_shows_its_table() {
        for g in guides() {
            let custom = g.platform == Platform::Custom;
            assert_eq!(g.rows().is_empty(), custom, "{}", g.platform.id());
        }
    }

    #[test]
    fn a_name_is_listed_once_per_kind_and_never_both_silent_and_with_a_kind() {
        for g in guides() {
            for table in g.tables {
                for (i, (name, kind)) in table.iter().enumerate() {
                    let id = g.platform.id();
                    assert!(
                        !table[..i].contains(&(name, *kind)),
                        "{id}: {name} {kind:?} is listed twice"
                    );
                    if kind.is_none() {
                        assert!(
                            table_kinds(table, name).is_empty(),
                            "{id}: {name} is listed both without a kind and with one"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_recogniser_can_only_pick_a_kind_its_table_lists() {
        const T: EventTable = &[
            ("waiting", Some(EventKind::BoletoGenerated)),
            ("waiting", Some(EventKind::PixGenerated)),
            ("paid", Some(EventKind::OrderPaid)),
            ("created", None),
        ];
        let card = Some(PaymentMethod::CreditCard);
        let pix = Some(PaymentMethod::Pix);
        assert_eq!(
            table_choose(T, "waiting", |_| awaiting_kind(pix)),
            Some(EventKind::PixGenerated)
        );
        assert_eq!(table_choose(T, "waiting", |_| awaiting_kind(card)), None);
        assert_eq!(
            table_choose(T, "paid", |_| unreachable!("one kind")),
            Some(EventKind::OrderPaid)
        );
        assert_eq!(table_choose(T, "created", |_| unreachable!()), None);
        assert_eq!(table_choose(T, "unknown", |_| unreachable!()), None);
    }
}
