//! The whole route table on one screen. Each line names who may call it; the handler's extractor
//! types enforce it (`Viewer` for any logged-in user, `AdminViewer` for admins), and a test walks
//! this table to prove every private route refuses an anonymous request.

use actix_web::http::Method;
use actix_web::{Resource, Route as ActixRoute, web};

use super::{assets, ops, pages, webhook};

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone: health, metrics, static assets, login, setup, webhooks.
    Public,
    /// Any logged-in user (session cookie or API token).
    User,
    /// Admins only.
    Admin,
}

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
    GET  "/healthz"                          Public => ops::healthz;
    GET  "/readyz"                           Public => ops::readyz;
    GET  "/metrics"                          Public => ops::metrics;
    GET  "/static/{path:.*}"                 Public => assets::serve;
    POST "/webhook/{token}"                  Public => webhook::receive_webhook;
    POST "/webhook/{token}/{tail:.*}"        Public => webhook::receive_webhook_tail;
    GET  "/setup"                            Public => pages::setup_form;
    POST "/setup"                            Public => pages::create_first_admin;
    GET  "/login"                            Public => pages::login_form;
    POST "/login"                            Public => pages::login;
    POST "/logout"                           User   => pages::logout;
    GET  "/"                                 User   => pages::dashboard;
    GET  "/lojas"                            User   => pages::list_stores;
    GET  "/lojas/nova"                       Admin  => pages::new_store_form;
    POST "/lojas"                            Admin  => pages::create_store;
    GET  "/lojas/{id}"                       User   => pages::show_store;
    POST "/lojas/{id}"                       Admin  => pages::update_store;
    POST "/lojas/{id}/token"                 Admin  => pages::regenerate_store_token;
    POST "/lojas/{id}/excluir"               Admin  => pages::delete_store;
    GET  "/api/v1/stores"                    User   => pages::api_list_stores;
    POST "/api/v1/stores"                    Admin  => pages::api_create_store;
    GET  "/api/v1/stores/{id}"               User   => pages::api_get_store;
    PATCH "/api/v1/stores/{id}"              Admin  => pages::api_update_store;
    DELETE "/api/v1/stores/{id}"             Admin  => pages::api_delete_store;
    POST "/api/v1/stores/{id}/token"         Admin  => pages::api_regenerate_store_token;
    GET  "/instancias"                       User   => pages::list_instances;
    GET  "/instancias/nova"                  Admin  => pages::new_instance_form;
    POST "/instancias"                       Admin  => pages::create_instance;
    GET  "/instancias/{id}"                  User   => pages::show_instance;
    POST "/instancias/{id}"                  Admin  => pages::update_instance;
    POST "/instancias/{id}/excluir"          Admin  => pages::delete_instance;
    POST "/instancias/{id}/lojas"            Admin  => pages::link_instance_store;
    POST "/instancias/{id}/lojas/{store}/desvincular" Admin => pages::unlink_instance_store;
    GET  "/instancias/{id}/eventos"          User   => pages::instance_events;
    POST "/instancias/{id}/conectar"         Admin  => pages::connect_instance;
    POST "/instancias/{id}/codigo"           Admin  => pages::pair_instance_with_code;
    POST "/instancias/{id}/desconectar"      Admin  => pages::disconnect_instance;
    POST "/instancias/{id}/resposta-automatica" Admin => pages::save_auto_reply;
    GET  "/api/v1/instances"                 User   => pages::api_list_instances;
    POST "/api/v1/instances"                 Admin  => pages::api_create_instance;
    GET  "/api/v1/instances/{id}"            User   => pages::api_get_instance;
    PATCH "/api/v1/instances/{id}"           Admin  => pages::api_update_instance;
    DELETE "/api/v1/instances/{id}"          Admin  => pages::api_delete_instance;
    POST "/api/v1/instances/{id}/stores"     Admin  => pages::api_link_store;
    GET  "/templates"                        User   => pages::list_templates;
    GET  "/templates/{id}/{kind}"            User   => pages::edit_template;
    POST "/templates/{id}/{kind}"            Admin  => pages::save_template;
    POST "/templates/{id}/{kind}/padrao"     Admin  => pages::reset_template;
    POST "/templates/{id}/{kind}/previa"     User   => pages::preview_template;
    POST "/api/v1/templates/preview"         User   => pages::api_preview_template;
    GET  "/eventos"                          User   => pages::events;
    POST "/eventos/reconhecer"               User   => pages::acknowledge_unmapped;
    GET  "/eventos/{id}"                     User   => pages::event_detail;
    GET  "/api/v1/events"                    User   => pages::api_list_events;
    GET  "/api/v1/events/{id}"               User   => pages::api_event;
    // Attendants act on messages every day (cancel, move, send now, dar baixa, write down a
    // buyer's opt-out); settings, undoing an opt-out and a store's test mode are admin decisions.
    GET  "/mensagens"                        User   => pages::messages;
    GET  "/mensagens/configuracoes"          Admin  => pages::message_settings;
    POST "/mensagens/configuracoes"          Admin  => pages::save_message_settings;
    GET  "/mensagens/descadastros"           User   => pages::opt_outs;
    POST "/mensagens/descadastros"           User   => pages::add_opt_out;
    POST "/mensagens/descadastros/remover"   Admin  => pages::remove_opt_out;
    GET  "/mensagens/sandbox"                User   => pages::sandbox;
    GET  "/mensagens/comprador"              User   => pages::buyer_history;
    GET  "/mensagens/{id}"                   User   => pages::message_detail;
    POST "/mensagens/{id}/cancelar"          User   => pages::cancel_message;
    POST "/mensagens/{id}/reagendar"         User   => pages::reschedule_message;
    POST "/mensagens/{id}/enviar-agora"      User   => pages::send_message_now;
    POST "/mensagens/{id}/dar-baixa"         User   => pages::mark_order_paid;
    POST "/lojas/{id}/modo-teste"            Admin  => pages::set_store_test_mode;
    GET  "/api/v1/messages"                  User   => pages::api_list_messages;
    GET  "/api/v1/messages/{id}"             User   => pages::api_message;
    POST "/api/v1/messages/{id}/cancel"      User   => pages::api_cancel_message;
    POST "/api/v1/messages/{id}/reschedule"  User   => pages::api_reschedule_message;
    POST "/api/v1/orders/mark-paid"          User   => pages::api_mark_order_paid;
    GET  "/relatorios"                       User   => pages::reports;
    GET  "/relatorios/tabela.csv"            User   => pages::export_report_table;
    GET  "/relatorios/mensagens.csv"         User   => pages::export_report_messages;
    GET  "/conta"                            User   => pages::account;
    POST "/conta/idioma"                     User   => pages::set_language;
    POST "/conta/senha"                      User   => pages::change_password;
    GET  "/configuracoes"                    Admin  => pages::settings;
    POST "/configuracoes"                    Admin  => pages::save_settings;
    POST "/configuracoes/manutencao"         Admin  => pages::save_ops_settings;
    POST "/configuracoes/backup"             Admin  => pages::download_backup;
    POST "/configuracoes/lgpd/exportar"      Admin  => pages::export_buyer;
    POST "/configuracoes/lgpd/esquecer"      Admin  => pages::forget_buyer;
    POST "/api/v1/backup"                    Admin  => pages::api_backup;
    GET  "/usuarios"                         Admin  => pages::users;
    POST "/usuarios"                         Admin  => pages::create_user;
    POST "/usuarios/{id}/desativar"          Admin  => pages::disable_user;
    POST "/usuarios/{id}/ativar"             Admin  => pages::enable_user;
    POST "/usuarios/{id}/senha"              Admin  => pages::reset_user_password;
    POST "/usuarios/tokens"                  Admin  => pages::create_api_token;
    POST "/usuarios/tokens/{id}/revogar"     Admin  => pages::revoke_api_token;
    GET  "/api/v1/me"                        User   => pages::api_me;
    GET  "/api/v1/users"                     Admin  => pages::api_list_users;
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
