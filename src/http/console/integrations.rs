//! "Integrações": every platform's setup steps, how avisa recognises its events and checks its
//! deliveries, and its notification table (happy-path priority, the notification's name in
//! avisa, the name the platform sends). Generated from `ingest::catalog` (the recognisers' own
//! tables) and the setup steps of the catalogs; `docs/integrations.md` is [`markdown`] of the
//! same data, and a test fails when the committed file differs.

use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::{Value, context};

use crate::domain::{Platform, PlatformGroup};
use crate::http::AppState;
use crate::http::Ui;
use crate::http::auth::Viewer;
use crate::http::console::Page;
use crate::http::error::ApiError;
use crate::ingest::catalog::{self, Guide};

/// The command that rewrites `docs/integrations.md` from the code.
pub const REGENERATE: &str = "cargo run -- integrations-doc > docs/integrations.md";

const LANG: &str = "pt-BR";

fn group_key(group: PlatformGroup) -> &'static str {
    match group {
        PlatformGroup::Checkout => "checkout",
        PlatformGroup::Ecommerce => "ecommerce",
        PlatformGroup::Gateway => "gateway",
        PlatformGroup::Api => "api",
    }
}

/// The platforms in the store form's groups, each group in `Platform::ALL`'s order.
fn in_groups() -> Vec<(PlatformGroup, Vec<Guide>)> {
    [
        PlatformGroup::Checkout,
        PlatformGroup::Ecommerce,
        PlatformGroup::Gateway,
        PlatformGroup::Api,
    ]
    .into_iter()
    .map(|g| {
        let guides = catalog::guides()
            .into_iter()
            .filter(|guide| guide.platform.group() == g)
            .collect();
        (g, guides)
    })
    .collect()
}

fn steps(ui: &Ui, platform: Platform) -> Vec<String> {
    ui.text(LANG, &format!("stores.steps.{}", platform.id()))
        .split('|')
        .map(str::to_owned)
        .collect()
}

/// One guide as the `_integration_guide.html` partial reads it (also on a store's page).
pub fn guide_view(guide: &Guide) -> Value {
    let rows: Vec<Value> = guide
        .rows()
        .iter()
        .map(|r| {
            context! {
                priority => r.priority,
                kind => r.kind.map(|k| k.as_str().to_owned()),
                name => r.name,
            }
        })
        .collect();
    context! {
        id => guide.platform.id(),
        label => guide.platform.label(),
        recognised_by => guide.recognised_by,
        signature => guide.signature,
        api_note => crate::ingest::enrich::api_note(guide.platform),
        tracking => guide.tracking,
        rows => rows,
    }
}

/// `GET /integracoes`: every platform's guide.
pub async fn show_integrations(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    let groups: Vec<Value> = in_groups()
        .iter()
        .map(|(group, guides)| {
            context! {
                key => group_key(*group),
                platforms => guides.iter().map(guide_view).collect::<Vec<_>>(),
            }
        })
        .collect();
    Page::new(&state, &req, &viewer, "integrations.html")
        .menu("integrations")
        .render(context! { groups => groups })
        .await
}

/// `docs/integrations.md`: the same guides as the page, in Markdown.
pub fn markdown(ui: &Ui) -> String {
    use std::fmt::Write;
    let t = |key: &str| ui.text(LANG, key);
    let mut out = String::new();
    out.push_str("# Integrações\n\n");
    let _ = writeln!(
        out,
        "Gerado pelo código (`src/ingest/catalog.rs` e as tabelas de cada reconhecedor); não edite \
         à mão. Para atualizar: `{REGENERATE}`.\n"
    );
    let _ = writeln!(out, "{}\n", t("integrations.url_hint"));
    out.push_str(
        "*Prioridade no caminho feliz*: 1 carrinho, 2 cobrança gerada, 3 cobrança com problema, \
         4 pagamento, 5 entrega, 6 pedido encerrado de outro jeito. Um pagamento (4) cancela as \
         mensagens pendentes de 1 a 3 do mesmo pedido. \"—\": a plataforma envia, mas não há \
         mensagem para o comprador.\n\n",
    );
    for (group, guides) in in_groups() {
        let _ = writeln!(
            out,
            "## {}\n",
            t(&format!("stores.group.{}", group_key(group)))
        );
        for guide in guides {
            let p = guide.platform;
            let _ = writeln!(out, "### {} (`{}`)\n", p.label(), p.id());
            out.push_str("**Como configurar na plataforma**\n\n");
            for (i, step) in steps(ui, p).iter().enumerate() {
                let _ = writeln!(out, "{}. {}", i + 1, step.trim());
            }
            let _ = writeln!(
                out,
                "\n**Como reconhecemos o evento:** {}.  \n**Autenticação:** {}.  \n\
                 **Variáveis de rastreamento:** {}.\n",
                guide.recognised_by, guide.signature, guide.tracking
            );
            if let Some(note) = crate::ingest::enrich::api_note(p) {
                let note = note.trim_end_matches('.');
                let _ = writeln!(out, "**Token da API (notificações finas):** {note}.\n");
            }
            let rows = guide.rows();
            if rows.is_empty() {
                let _ = writeln!(out, "{}\n", t("integrations.custom_table"));
                continue;
            }
            out.push_str(
                "| Prioridade no caminho feliz | Nome da notificação | Como reconhecemos o evento |\n\
                 |---|---|---|\n",
            );
            for row in rows {
                let (priority, kind) = match row.kind {
                    Some(kind) => (
                        row.priority.map_or("—".to_owned(), |p| p.to_string()),
                        t(&format!("kind.{}", kind.as_str())),
                    ),
                    None => ("—".to_owned(), "—".to_owned()),
                };
                let _ = writeln!(out, "| {priority} | {kind} | `{}` |", row.name);
            }
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/integrations.md` is generated: it must be what the code says today.
    #[test]
    fn the_committed_integrations_doc_is_the_generated_one() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/integrations.md");
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        let generated = markdown(&Ui::load());
        assert!(
            committed == generated,
            "docs/integrations.md is stale: regenerate it with `{REGENERATE}`"
        );
    }

    /// Shopify sends one topic per webhook the merchant creates: the steps must name the order
    /// creation (boleto/PIX) and fulfillment update topics the table reads, or those messages
    /// never come.
    #[test]
    fn shopify_steps_name_the_order_creation_and_fulfillment_update_topics() {
        let steps = steps(&Ui::load(), Platform::Shopify).join(" ");
        for topic in [
            "criação de pedido",
            "atualização de fulfillment",
            "contestação",
        ] {
            assert!(steps.contains(topic), "{topic} in {steps}");
        }
    }

    #[test]
    fn every_platform_has_setup_steps_and_every_kind_a_name() {
        let ui = Ui::load();
        for guide in catalog::guides() {
            let key = format!("stores.steps.{}", guide.platform.id());
            assert_ne!(ui.text(LANG, &key), key, "{key}");
            for row in guide.rows() {
                if let Some(kind) = row.kind {
                    let key = format!("kind.{}", kind.as_str());
                    assert_ne!(ui.text(LANG, &key), key, "{key}");
                }
            }
        }
    }
}
