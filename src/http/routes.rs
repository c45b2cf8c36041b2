//! The whole route table on one screen. Each line names who may call it and its handler
//! (`console::<feature>::verb_noun` for pages, `api::<resource>::verb_noun` for JSON). The login
//! middleware is handed each request's line as data (`access_for`), the handler's extractor types
//! enforce it again (`Viewer`, `AdminViewer`), and a test walks this table to prove every private
//! route refuses an anonymous request. `auth` never names this module.

use actix_web::dev::ServiceRequest;
use actix_web::http::Method;
use actix_web::{Resource, Route as ActixRoute, web};

pub use super::auth::Access;
use super::{api, assets, console, health, webhook};

/// One line of the table.
#[derive(Clone, Copy, Debug)]
pub struct RouteInfo {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

macro_rules! routes {
    ($($method:ident $path:literal $access:ident => $handler:path;)*) => {
        /// Every route avisa serves.
        pub const ROUTES: &[RouteInfo] = &[
            $(RouteInfo { method: stringify!($method), path: $path, access: Access::$access },)*
        ];

        /// Registers the table on an app (used by `main` and the tests alike).
        pub fn configure(cfg: &mut web::ServiceConfig) {
            let mut resources: Vec<(&'static str, Resource)> = Vec::new();
            $(add(&mut resources, $path, web::method(Method::$method).to($handler));)*
            for (_, resource) in resources {
                cfg.service(resource);
            }
        }
    };
}

routes! {
    GET  "/healthz"                          Public => health::check_liveness;
    GET  "/readyz"                           Public => health::check_readiness;
    GET  "/metrics"                          Public => health::export_metrics;
    GET  "/static/{path:.*}"                 Public => assets::serve_asset;
    POST "/webhook/{token}"                  Public => webhook::receive_webhook;
    POST "/webhook/{token}/{tail:.*}"        Public => webhook::receive_webhook_tail;
    GET  "/setup"                            Public => console::session::show_setup;
    POST "/setup"                            Public => console::session::create_first_admin;
    GET  "/login"                            Public => console::session::show_login;
    POST "/login"                            Public => console::session::create_session;
    POST "/logout"                           User   => console::session::end_session;
    GET  "/"                                 User   => console::dashboard::show_dashboard;
    GET  "/lojas"                            User   => console::stores::list_stores;
    GET  "/lojas/nova"                       Admin  => console::stores::show_new_store;
    POST "/lojas"                            Admin  => console::stores::create_store;
    GET  "/lojas/{id}"                       User   => console::stores::show_store;
    POST "/lojas/{id}"                       Admin  => console::stores::update_store;
    POST "/lojas/{id}/token"                 Admin  => console::stores::regenerate_store_token;
    POST "/lojas/{id}/api"                   Admin  => console::store_api::save_api_credentials;
    POST "/lojas/{id}/excluir"               Admin  => console::stores::delete_store;
    GET  "/lojas/{id}/mapeamento"            User   => console::mapping::show_mapping;
    GET  "/integracoes"                      User   => console::integrations::show_integrations;
    POST "/lojas/{id}/mapeamento"            Admin  => console::mapping::save_mapping;
    POST "/lojas/{id}/mapeamento/previa"     User   => console::mapping::preview_mapping;
    POST "/lojas/{id}/mapeamento/remover"    Admin  => console::mapping::remove_mapping;
    POST "/lojas/{id}/mapeamento/importar"   Admin  => console::mapping::import_mapping;
    GET  "/lojas/{id}/mapeamento.json"       User   => console::mapping::export_mapping;
    POST "/lojas/{id}/reprocessar"           Admin  => console::mapping::reprocess_events;
    GET  "/api/v1/stores"                    User   => api::stores::list_stores;
    POST "/api/v1/stores"                    Admin  => api::stores::create_store;
    GET  "/api/v1/stores/{id}"               User   => api::stores::show_store;
    PATCH "/api/v1/stores/{id}"              Admin  => api::stores::update_store;
    DELETE "/api/v1/stores/{id}"             Admin  => api::stores::delete_store;
    POST "/api/v1/stores/{id}/token"         Admin  => api::stores::regenerate_store_token;
    GET  "/api/v1/stores/{id}/mapping"       User   => api::mappings::show_mapping;
    PUT  "/api/v1/stores/{id}/mapping"       Admin  => api::mappings::save_mapping;
    POST "/api/v1/stores/{id}/reprocess"     Admin  => api::mappings::reprocess_events;
    GET  "/instancias"                       User   => console::instances::list_instances;
    GET  "/instancias/nova"                  Admin  => console::instances::show_new_instance;
    POST "/instancias"                       Admin  => console::instances::create_instance;
    GET  "/instancias/{id}"                  User   => console::instances::show_instance;
    POST "/instancias/{id}"                  Admin  => console::instances::update_instance;
    POST "/instancias/{id}/excluir"          Admin  => console::instances::delete_instance;
    POST "/instancias/{id}/lojas"            Admin  => console::instances::link_store;
    POST "/instancias/{id}/lojas/{store}/desvincular" Admin => console::instances::unlink_store;
    GET  "/instancias/{id}/eventos"          User   => console::instances::stream_instance_events;
    POST "/instancias/{id}/conectar"         Admin  => console::instances::connect_instance;
    POST "/instancias/{id}/codigo"           Admin  => console::instances::pair_instance_with_code;
    POST "/instancias/{id}/cancelar"         Admin  => console::instances::cancel_instance_connection;
    POST "/instancias/{id}/desconectar"      Admin  => console::instances::disconnect_instance;
    POST "/instancias/{id}/resposta-automatica" Admin => console::instances::save_auto_reply;
    POST "/instancias/{id}/aquecimento"      Admin  => console::instances::save_warmup;
    POST "/instancias/{id}/retomar"          Admin  => console::instances::resume_instance;
    GET  "/api/v1/instances"                 User   => api::instances::list_instances;
    POST "/api/v1/instances"                 Admin  => api::instances::create_instance;
    GET  "/api/v1/instances/{id}"            User   => api::instances::show_instance;
    PATCH "/api/v1/instances/{id}"           Admin  => api::instances::update_instance;
    DELETE "/api/v1/instances/{id}"          Admin  => api::instances::delete_instance;
    POST "/api/v1/instances/{id}/stores"     Admin  => api::instances::link_store;
    GET  "/templates"                        User   => console::templates::list_templates;
    GET  "/templates/personalizados"         User   => console::custom_kinds::list_custom_kinds;
    POST "/templates/personalizados"         Admin  => console::custom_kinds::create_custom_kind;
    GET  "/templates/{id}/{kind}"            User   => console::templates::edit_template;
    POST "/templates/{id}/{kind}"            Admin  => console::templates::save_template;
    POST "/templates/{id}/{kind}/padrao"     Admin  => console::templates::reset_template;
    POST "/templates/{id}/{kind}/previa"     User   => console::templates::preview_template;
    POST "/api/v1/templates/preview"         User   => api::templates::preview_template;
    GET  "/eventos"                          User   => console::events::list_events;
    POST "/eventos/reconhecer"               User   => console::events::acknowledge_unmapped;
    GET  "/eventos/{id}"                     User   => console::events::show_event;
    GET  "/api/v1/events"                    User   => api::events::list_events;
    GET  "/api/v1/events/{id}"               User   => api::events::show_event;
    // Attendants act on messages every day (cancel, move, send now, dar baixa, write down a
    // buyer's opt-out, answer a buyer); settings, undoing an opt-out and a store's test mode
    // are admin decisions.
    GET  "/mensagens"                        User   => console::messages::list_messages;
    GET  "/mensagens/configuracoes"          Admin  => console::messages::show_message_settings;
    POST "/mensagens/configuracoes"          Admin  => console::messages::save_message_settings;
    GET  "/mensagens/descadastros"           User   => console::messages::list_opt_outs;
    POST "/mensagens/descadastros"           User   => console::messages::add_opt_out;
    POST "/mensagens/descadastros/remover"   Admin  => console::messages::remove_opt_out;
    GET  "/mensagens/sandbox"                User   => console::messages::show_sandbox;
    GET  "/mensagens/comprador"              User   => console::messages::show_buyer_history;
    POST "/mensagens/comprador/responder"    User   => console::messages::send_buyer_reply;
    GET  "/mensagens/{id}"                   User   => console::messages::show_message;
    GET  "/mensagens/{id}/qrcode.png"        User   => console::messages::show_message_qr;
    POST "/mensagens/{id}/cancelar"          User   => console::messages::cancel_message;
    POST "/mensagens/{id}/reagendar"         User   => console::messages::reschedule_message;
    POST "/mensagens/{id}/enviar-agora"      User   => console::messages::send_message_now;
    POST "/mensagens/{id}/dar-baixa"         User   => console::messages::mark_order_paid;
    POST "/lojas/{id}/modo-teste"            Admin  => console::messages::set_store_test_mode;
    GET  "/api/v1/messages"                  User   => api::messages::list_messages;
    POST "/api/v1/messages"                  User   => api::messages::send_message;
    GET  "/api/v1/messages/{id}"             User   => api::messages::show_message;
    POST "/api/v1/messages/{id}/cancel"      User   => api::messages::cancel_message;
    POST "/api/v1/messages/{id}/reschedule"  User   => api::messages::reschedule_message;
    POST "/api/v1/orders/mark-paid"          User   => api::messages::mark_order_paid;
    GET  "/relatorios"                       User   => console::reports::show_reports;
    GET  "/relatorios/tabela.csv"            User   => console::reports::export_report_table;
    GET  "/relatorios/mensagens.csv"         User   => console::reports::export_report_messages;
    GET  "/conta"                            User   => console::session::show_account;
    POST "/conta/idioma"                     User   => console::session::set_language;
    POST "/conta/senha"                      User   => console::session::change_password;
    GET  "/configuracoes"                    Admin  => console::settings::show_settings;
    POST "/configuracoes"                    Admin  => console::settings::save_settings;
    POST "/configuracoes/manutencao"         Admin  => console::settings::save_ops_settings;
    POST "/configuracoes/protecao"           Admin  => console::settings::save_thresholds;
    POST "/configuracoes/backup"             Admin  => console::settings::download_backup;
    POST "/configuracoes/lgpd/exportar"      Admin  => console::settings::export_buyer;
    POST "/configuracoes/lgpd/esquecer"      Admin  => console::settings::forget_buyer;
    POST "/api/v1/backup"                    Admin  => api::backup::create_backup;
    GET  "/usuarios"                         Admin  => console::users::list_users;
    POST "/usuarios"                         Admin  => console::users::create_user;
    POST "/usuarios/{id}/desativar"          Admin  => console::users::disable_user;
    POST "/usuarios/{id}/ativar"             Admin  => console::users::enable_user;
    POST "/usuarios/{id}/senha"              Admin  => console::users::reset_user_password;
    POST "/usuarios/tokens"                  Admin  => console::users::create_api_token;
    POST "/usuarios/tokens/{id}/revogar"     Admin  => console::users::revoke_api_token;
    GET  "/configuracoes/integracoes"        Admin  => console::webhooks::list_endpoints;
    POST "/configuracoes/integracoes"        Admin  => console::webhooks::create_endpoint;
    GET  "/configuracoes/integracoes/{id}"   Admin  => console::webhooks::show_endpoint;
    POST "/configuracoes/integracoes/{id}/ativar" Admin => console::webhooks::toggle_endpoint;
    POST "/configuracoes/integracoes/{id}/excluir" Admin => console::webhooks::delete_endpoint;
    POST "/configuracoes/integracoes/{id}/entregas/{delivery}/reenviar" Admin => console::webhooks::resend_delivery;
    GET  "/api/v1/webhooks"                  Admin  => api::webhooks::list_webhooks;
    POST "/api/v1/webhooks"                  Admin  => api::webhooks::create_webhook;
    GET  "/api/v1/webhooks/{id}"             Admin  => api::webhooks::show_webhook;
    DELETE "/api/v1/webhooks/{id}"           Admin  => api::webhooks::delete_webhook;
    GET  "/api/v1/me"                        User   => api::users::show_me;
    GET  "/api/v1/users"                     Admin  => api::users::list_users;
    GET  "/api/v1/openapi.json"              User   => api::openapi::show_openapi;
    GET  "/ajuda/api"                        User   => console::api_reference::show_api_reference;
}

/// Where the platforms' webhook URLs live.
pub const WEBHOOK_PREFIX: &str = "/webhook/";

/// The access of the route a request matched; `None` for no route (the 404 page is public).
pub fn access_for(req: &ServiceRequest) -> Option<Access> {
    // Every route under /webhook/ is a public POST (`every_webhook_route_is_public` keeps it
    // so): the hot path skips matching the path against the whole resource map again.
    if req.method() == Method::POST && req.path().starts_with(WEBHOOK_PREFIX) {
        return Some(Access::Public);
    }
    let pattern = req.match_pattern()?;
    ROUTES
        .iter()
        .find(|r| r.path == pattern && r.method == req.method().as_str())
        .map(|r| r.access)
}

fn add(resources: &mut Vec<(&'static str, Resource)>, path: &'static str, route: ActixRoute) {
    match resources.iter().position(|(p, _)| *p == path) {
        Some(i) => {
            let (p, resource) = resources.remove(i);
            resources.insert(i, (p, resource.route(route)));
        }
        None => resources.push((path, web::resource(path).route(route))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `access_for` answers Public for any POST under the prefix without matching the path:
    /// that holds only while every route there is a public POST.
    #[test]
    fn every_webhook_route_is_public() {
        let under: Vec<&RouteInfo> = ROUTES
            .iter()
            .filter(|r| r.path.starts_with(WEBHOOK_PREFIX))
            .collect();
        assert!(!under.is_empty());
        for route in under {
            assert_eq!(route.method, "POST", "{}", route.path);
            assert_eq!(route.access, Access::Public, "{}", route.path);
        }
    }
}
