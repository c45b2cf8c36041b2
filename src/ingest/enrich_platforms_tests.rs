//! Thin notifications of the platforms read with credentials of several fields or a resource of
//! their own (iugu, VTEX, Tray, Vindi; PagBank's in `enrich_pagbank_tests`), pure: the documented answer
//! (the stand-ins in `tests/fixtures/enrich/`) merged into the event, field by field. The specs
//! every platform shares are in `enrich_tests.rs`.

use std::path::Path;

use serde_json::{Value, json};

use super::enrich::{merge, target};
use super::enrich_tests::{fixture, read, stand_in, thin_bodies};
use super::{ReasonCode, Request, Status};
use crate::domain::{EventKind, Platform};
#[test]
fn enrich_vindi_takes_the_mobile_phone_before_the_landline() {
    let (_, reading) = read(Platform::Vindi, &thin_bodies()[3].1);
    let (_, resource) = stand_in("vindi-customer");
    let merged = merge(
        Platform::Vindi,
        reading.event.as_ref().expect("e"),
        &resource,
    )
    .expect("merged");
    let event = merged.event.expect("event");
    assert_eq!(
        event
            .customer
            .phone
            .map(|p| p.as_str().to_owned())
            .as_deref(),
        Some("+5511987654321")
    );
    assert_eq!(event.kind, Some(EventKind::BoletoGenerated));
    assert_eq!(event.platform_event, "bill_created");
}

#[test]
fn enrich_vindi_subscription_and_charge_events_name_their_customer_too() {
    let canceled: Value = serde_json::from_slice(
        &std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/vindi/subscription_canceled-boleto-test.json"),
        )
        .expect("fixture"),
    )
    .expect("JSON");
    let rejected = json!({"event": {"type": "charge_rejected", "data": {"charge": {"id": 9,
        "amount": "50.0", "status": "pending",
        "last_transaction": {"status": "rejected", "gateway_message": "Saldo insuficiente"},
        "payment_method": {"code": "credit_card"},
        "bill": {"id": 77}, "customer": {"id": 4242, "name": "Cliente Teste"}}}}});
    for (body, path) in [
        (canceled, "/customers/175835"),
        (rejected, "/customers/4242"),
    ] {
        let (raw, reading) = read(Platform::Vindi, &body);
        assert!(reading.event.as_ref().and_then(|e| e.kind).is_some());
        assert_eq!(
            target(Platform::Vindi, &Request::new(&raw, &[], ""), &reading).as_deref(),
            Some(path)
        );
    }
}

#[test]
fn enrich_iugu_invoices_give_the_payer_the_boleto_and_the_pix() {
    let (_, invoice) = stand_in("iugu-invoice");
    // A paid PIX trigger keeps its kind; the invoice gives the phone.
    let paid = Value::String(
        String::from_utf8(fixture("iugu/invoice.status_changed-paid-pix-real.form"))
            .expect("UTF-8"),
    );
    let (raw, reading) = read(Platform::Iugu, &paid);
    assert_eq!(
        reading.reason.as_ref().map(|r| r.code),
        Some(ReasonCode::NoPhone)
    );
    assert_eq!(
        target(Platform::Iugu, &Request::new(&raw, &[], ""), &reading).as_deref(),
        Some("/v1/invoices/899E76B431864AAB854977026372A704")
    );
    let thin = reading.event.expect("event");
    assert!(
        merge(Platform::Iugu, &thin, &invoice).is_err(),
        "another invoice"
    );
    let mut same: Value = serde_json::from_slice(&invoice).expect("JSON");
    same["id"] = json!("899e76b431864aab854977026372a704");
    same["status"] = json!("paid");
    let merged = merge(
        Platform::Iugu,
        &thin,
        &serde_json::to_vec(&same).expect("JSON"),
    )
    .expect("merged");
    let event = merged.event.expect("event");
    assert_eq!(event.kind, Some(EventKind::OrderPaid));
    assert_eq!(
        event.payment.method,
        Some(crate::domain::PaymentMethod::Pix)
    );
    assert_eq!(merged.status, Status::Ok);
    // A pending invoice payable only by PIX is a PIX to remind of.
    let created =
        Value::String("event=invoice.created&data[id]=D504EEBD8D77470EA8172DF9E83B21E1".into());
    let (_, reading) = read(Platform::Iugu, &created);
    let mut pix_only: Value = serde_json::from_slice(&invoice).expect("JSON");
    pix_only["bank_slip"] = Value::Null;
    pix_only["payable_with"] = json!("pix");
    let merged = merge(
        Platform::Iugu,
        reading.event.as_ref().expect("event"),
        &serde_json::to_vec(&pix_only).expect("JSON"),
    )
    .expect("merged");
    let event = merged.event.expect("event");
    assert_eq!(event.kind, Some(EventKind::PixGenerated));
    assert!(event.payment.pix_code.is_some());
    assert_eq!(
        merge(Platform::Iugu, &thin, br#"{"errors":"Unauthorized"}"#).map(|_| ()),
        Err("the answer is not an iugu invoice".into())
    );
}

#[test]
fn enrich_a_vtex_account_is_kept_as_its_bare_name() {
    use super::enrich::normalize;
    for typed in [
        "minhaloja",
        " MinhaLoja ",
        "https://minhaloja.myvtex.com/",
        "minhaloja.vtexcommercestable.com.br",
    ] {
        assert_eq!(
            normalize(Platform::Vtex, "account", typed).as_deref(),
            Ok("minhaloja"),
            "{typed}"
        );
    }
    for bad in ["", "-x", "minha loja", "loja_1"] {
        assert!(normalize(Platform::Vtex, "account", bad).is_err(), "{bad}");
    }
    assert_eq!(
        normalize(Platform::Vtex, "token", " t ").as_deref(),
        Ok("t")
    );
}

#[test]
fn enrich_vtex_orders_give_the_buyer_the_payment_and_the_tracking() {
    let (_, order) = stand_in("vtex-order");
    let mut invoiced: Value = serde_json::from_slice(&order).expect("JSON");
    invoiced["status"] = json!("invoiced");
    invoiced["paymentData"]["transactions"][0]["payments"][0]["group"] = json!("creditCard");
    invoiced["packageAttachment"]["packages"] = json!([{
        "courier": "PAC Correios", "trackingNumber": "TRK-48960684",
        "trackingUrl": "https://tracking.fastdelivery.com/track/146/TRK-48960684-01/24382"
    }]);
    let hook = json!({"OrderId": "v40484048naf-01", "State": "invoiced"});
    let (_, reading) = read(Platform::Vtex, &hook);
    let thin = reading.event.expect("event");
    let merged = merge(
        Platform::Vtex,
        &thin,
        &serde_json::to_vec(&invoiced).expect("JSON"),
    )
    .expect("merged");
    assert_eq!(merged.status, Status::Ok, "{:?}", merged.reason);
    let event = merged.event.expect("event");
    assert_eq!(event.kind, Some(EventKind::OrderShipped));
    assert_eq!(
        event.shipping.tracking_code.as_deref(),
        Some("TRK-48960684")
    );
    assert_eq!(
        event.payment.method,
        Some(crate::domain::PaymentMethod::CreditCard)
    );
    assert_eq!(event.payment.boleto_url, None, "a card has no boleto");
    // Another order, a masked phone.
    let other = json!({"OrderId": "v1-01", "State": "invoiced"});
    let (_, reading) = read(Platform::Vtex, &other);
    assert!(merge(Platform::Vtex, reading.event.as_ref().expect("e"), &order).is_err());
    let mut masked: Value = serde_json::from_slice(&order).expect("JSON");
    masked["clientProfileData"]["phone"] = json!("+55119*****321");
    masked["clientProfileData"]["email"] = json!("0f1e2d@ct.vtex.com.br");
    let merged = merge(
        Platform::Vtex,
        &thin,
        &serde_json::to_vec(&masked).expect("JSON"),
    )
    .expect("merged");
    assert_eq!(merged.status, Status::Invalid);
    assert_eq!(merged.reason.map(|r| r.code), Some(ReasonCode::BadPhone));
    assert_eq!(merged.event.expect("e").customer.email, None);
}

#[test]
fn enrich_a_tray_api_address_is_an_https_address() {
    use super::enrich::normalize;
    assert_eq!(
        normalize(
            Platform::Tray,
            "api_address",
            " https://www.loja.com.br/web_api/ "
        )
        .as_deref(),
        Ok("https://www.loja.com.br/web_api")
    );
    for bad in [
        "http://www.loja.com.br/web_api",
        "www.loja.com.br/web_api",
        "https://www.loja.com.br/web_api?x=1",
        "https://user:pw@www.loja.com.br/web_api",
        "javascript:alert(1)",
    ] {
        assert!(
            normalize(Platform::Tray, "api_address", bad).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn enrich_tray_orders_take_their_kind_from_the_status() {
    let (_, order) = stand_in("tray-order");
    let thin = &thin_bodies()
        .into_iter()
        .find(|(p, ..)| *p == Platform::Tray)
        .expect("t")
        .1;
    let (_, reading) = read(Platform::Tray, thin);
    let event = reading.event.expect("event");
    let cases = [
        ("AGUARDANDO PAGAMENTO", "Pix", Some(EventKind::PixGenerated)),
        ("AGUARDANDO PAGAMENTO", "Cartão de Crédito", None),
        ("A ENVIAR", "Boleto Bancário", Some(EventKind::OrderPaid)),
        ("ENVIADO", "Pix", Some(EventKind::OrderShipped)),
        ("CANCELADO", "Pix", Some(EventKind::OrderCanceled)),
        ("FINALIZADO", "Pix", Some(EventKind::OrderCompleted)),
        ("EM SEPARAÇÃO NA LOJA", "Pix", None),
    ];
    for (status, method, kind) in cases {
        let mut answer: Value = serde_json::from_slice(&order).expect("JSON");
        answer["Order"]["status"] = json!(status);
        answer["Order"]["payment_method"] = json!(method);
        let merged = merge(
            Platform::Tray,
            &event,
            &serde_json::to_vec(&answer).expect("JSON"),
        )
        .expect("merged");
        assert_eq!(merged.event.expect("e").kind, kind, "{status} {method}");
    }
    let mut other: Value = serde_json::from_slice(&order).expect("JSON");
    other["Order"]["id"] = json!("1");
    assert!(
        merge(
            Platform::Tray,
            &event,
            &serde_json::to_vec(&other).expect("JSON")
        )
        .is_err()
    );
    assert!(
        merge(
            Platform::Tray,
            &event,
            br#"{"code":401,"message":"Unauthorized"}"#
        )
        .is_err()
    );
}
