//! Every redb table avisa has, in one place. Names carry a version: a change of a table's layout
//! is a new name plus a migration step in `migrate.rs`, never an in-place reinterpretation.

use redb::{MultimapTableDefinition, TableDefinition};

/// `schema_version` and other single facts about the file.
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta_v1");
/// Id sequences: next id per kind of record.
pub const SEQUENCES: TableDefinition<&str, u64> = TableDefinition::new("sequences_v1");

/// Console users by id (JSON `UserRecord`).
pub const USERS: TableDefinition<u64, &[u8]> = TableDefinition::new("users_v1");
/// Lower-cased e-mail -> user id. Written in the same transaction as `USERS`.
pub const USERS_BY_EMAIL: TableDefinition<&str, u64> = TableDefinition::new("users_by_email_v1");
/// Sessions by the SHA-256 of their cookie value (JSON `SessionRecord`): a copy of the file does
/// not hand out live sessions.
pub const SESSIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("sessions_v1");
/// API tokens by the SHA-256 of the token (JSON `ApiTokenRecord`).
pub const API_TOKENS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("api_tokens_v1");
/// Settings documents by name (JSON), edited in Configurações.
pub const SETTINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("settings_v1");

/// Stores (lojas) by id (JSON `Store`).
pub const STORES: TableDefinition<u64, &[u8]> = TableDefinition::new("stores_v1");
/// Webhook token -> store id. Written in the same transaction as `STORES`.
pub const STORE_TOKENS: TableDefinition<&str, u64> = TableDefinition::new("store_tokens_v1");
/// Store id -> the merchant's mapping for it (JSON `ingest::mapping::Mapping`): event names
/// its recogniser does not know, or a `custom` store's whole reading. Removed with the store.
pub const STORE_MAPPINGS: TableDefinition<u64, &[u8]> = TableDefinition::new("store_mappings_v1");
/// Custom event kind name (`aniversario`, without `custom.`) -> JSON `CustomKindDef`: the
/// merchant's own kinds. Events, messages and templates carry the name, never a row id.
pub const CUSTOM_KINDS: TableDefinition<&str, &[u8]> = TableDefinition::new("custom_kinds_v1");
/// Events by id (JSON `EventRecord`); ids grow with time, so id order is arrival order.
pub const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events_v1");
/// Raw deliveries by the id of their first event: JSON header, a zero byte, the body as received.
pub const RAW_BODIES: TableDefinition<u64, &[u8]> = TableDefinition::new("raw_bodies_v1");
/// (store id, dedup key) -> the event id that first carried it.
pub const DEDUP: TableDefinition<(u64, &str), u64> = TableDefinition::new("dedup_v1");
/// Dedup keys not yet moved to `DEDUP`: (event id, store id, dedup key), appended in id order so
/// a group commit's keys share a leaf (`db::dedup`).
pub const DEDUP_LOG: TableDefinition<(u64, u64, &str), ()> = TableDefinition::new("dedup_log_v1");
/// Counters shown in the console (e.g. unacknowledged unmapped events).
pub const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters_v1");

/// Messages by id (JSON `Message`).
pub const MESSAGES: TableDefinition<u64, &[u8]> = TableDefinition::new("messages_v1");
/// Scheduled messages by (due time, id): the next due message is one range read.
pub const OUTBOX: TableDefinition<(i64, u64), ()> = TableDefinition::new("outbox_v1");
/// Every message by (due time, id), whatever its status: Mensagens → Todas in "Previsto para"
/// order is one range read. Written by `report_ledger::Ledger::put` with the message.
pub const MESSAGES_BY_DUE: TableDefinition<(i64, u64), ()> =
    TableDefinition::new("messages_by_due_v1");
/// (store id, order id) -> its messages, for the happy path.
pub const MESSAGES_BY_ORDER: MultimapTableDefinition<(u64, &str), u64> =
    MultimapTableDefinition::new("messages_by_order_v1");
/// Buyer phone -> their messages, for the per-buyer cap and orders without an id.
pub const MESSAGES_BY_PHONE: MultimapTableDefinition<&str, u64> =
    MultimapTableDefinition::new("messages_by_phone_v1");
/// (store id, event kind) -> the store's template for it (JSON `MessageTemplate`); absent means
/// the shipped default.
pub const TEMPLATES: TableDefinition<(u64, &str), &[u8]> = TableDefinition::new("templates_v1");
/// (store id, order id) -> when the order was closed (paid, refunded, …).
pub const CLOSED_ORDERS: TableDefinition<(u64, &str), i64> =
    TableDefinition::new("closed_orders_v1");
/// (buyer phone, product key) -> (store id, when closed): orders without an id, and other stores.
pub const CLOSED_PURCHASES: TableDefinition<(&str, &str), (u64, i64)> =
    TableDefinition::new("closed_purchases_v1");
/// Buyer phones that asked not to be messaged (JSON `OptOut`).
pub const OPT_OUTS: TableDefinition<&str, &[u8]> = TableDefinition::new("opt_outs_v1");
/// SHA-256 of an erased buyer's E.164 phone -> when they were erased (LGPD): nothing else about
/// them is kept, and nothing is ever sent to them again.
pub const ERASED_BUYERS: TableDefinition<&[u8], i64> = TableDefinition::new("erased_buyers_v1");

/// WhatsApp instances by id (JSON `Instance`): settings and today's send counters.
pub const INSTANCES: TableDefinition<u64, &[u8]> = TableDefinition::new("instances_v1");
/// Messages handed to a channel, by (lease expiry, id): a lease that runs out means the
/// process died mid-send ("maybe sent").
pub const LEASES: TableDefinition<(i64, u64), ()> = TableDefinition::new("leases_v1");
/// Store id -> how many of its messages are in `OUTBOX`, kept in step by `queue::Queue`, so
/// the depth per store and instance is a read, not a scan.
pub const OUTBOX_DEPTH: TableDefinition<u64, u64> = TableDefinition::new("outbox_depth_v1");

/// The WhatsApp library's own state (device keys, Signal sessions, pre-keys, app-state versions,
/// LID mappings, …) by (instance id, space, key): one namespace per instance, so one file and
/// one backup hold everything. The spaces and encodings are `channels/whatsapp/backend.rs`'s.
pub const WA_STATE: TableDefinition<(u64, u8, &[u8]), &[u8]> = TableDefinition::new("wa_state_v1");

/// Each buyer's conversation: (buyer address, entry id) -> JSON `ConversationEntry` (their
/// replies and avisa's answers to them). The address is E.164, or the WhatsApp address as the
/// channel gave it when it could not map it to a phone.
pub const CONVERSATIONS: TableDefinition<(&str, u64), &[u8]> =
    TableDefinition::new("conversations_v1");
/// (instance id, WhatsApp message id) of every reply already handled -> when it arrived:
/// WhatsApp redelivers, and a redelivered "SAIR" must not be confirmed twice.
pub const INCOMING_SEEN: TableDefinition<(u64, &str), i64> =
    TableDefinition::new("incoming_seen_v1");
/// (instance id, buyer address) -> when the instance's auto-reply last answered that buyer.
pub const AUTO_REPLIES: TableDefinition<(u64, &str), i64> = TableDefinition::new("auto_replies_v1");

/// Report counters: (Brasília day number, store id, instance id or 0, event kind, follow-up
/// step, test) -> little-endian i64 counters (`report_ledger::Counter`). Kept in step with `MESSAGES`
/// by `report_ledger::Ledger` in the transaction that changes a message, so a period is a range read.
/// (day, store, instance, kind, step, test): the key of a report row.
pub type ReportKey<'a> = (i32, u64, u64, &'a str, u32, bool);
pub const REPORT_DAYS: TableDefinition<ReportKey<'static>, &[u8]> =
    TableDefinition::new("report_days_v1");
/// (day, store id, event kind or `unmapped`/`invalid`) -> events received that day.
pub const EVENT_DAYS: TableDefinition<(i32, u64, &str), u64> =
    TableDefinition::new("event_days_v1");
/// (day the message went out, store id, instance id or 0, buyer phone digits) -> messages that
/// buyer got that day (test messages excluded): the per-buyer frequency of a period.
pub const BUYER_DAYS: TableDefinition<(i32, u64, u64, u64), u64> =
    TableDefinition::new("buyer_days_v1");
/// (store id, order id) -> the recovery credited to it (JSON `Recovery`): once per order.
pub const RECOVERED_ORDERS: TableDefinition<(u64, &str), &[u8]> =
    TableDefinition::new("recovered_orders_v1");

/// Deliverability (issue 15). WhatsApp message id on the wire (`3EB0…`) -> avisa's message id,
/// written in the claim's transaction, before the send: receipts find the message through it,
/// across restarts. Messages sent as `AVISA{id}` before it existed are matched by their prefix.
pub const WIRE_IDS: TableDefinition<&str, u64> = TableDefinition::new("wire_ids_v1");
/// (buyer E.164, instance id) -> JSON `OnWhatsapp`: what the is-on-WhatsApp lookup said and when,
/// kept 7 days so a restart does not repeat the lookups (itself a signal to WhatsApp). Names a
/// phone: `forget.rs` removes a buyer's rows.
pub const ON_WHATSAPP: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("on_whatsapp_v1");
/// (instance id, Brasília day number) -> JSON `HealthDay`: the number's health counters that day
/// (sent, delivered, read, replies, unanswered, nacks by code, timelock).
pub const HEALTH_DAYS: TableDefinition<(u64, i32), &[u8]> = TableDefinition::new("health_days_v1");

/// Media (issue 16). Lowercase hex SHA-256 -> the file's bytes: every fetched or drawn file a
/// message part carried, stored once however many messages carried it. A row stays while a
/// `MESSAGE_MEDIA` row names its hash; retention and forgetting remove the last reference and
/// the file together.
pub const MEDIA_BLOBS: TableDefinition<&str, &[u8]> = TableDefinition::new("media_blobs_v1");
/// Message id -> JSON `SentMedia`: the file a media part carried (hash, type, name, size), written
/// before the part goes out, so a retry reuses the file instead of fetching it again. Removed by
/// retention (with the raw bodies) and when the buyer is forgotten.
pub const MESSAGE_MEDIA: TableDefinition<u64, &[u8]> = TableDefinition::new("message_media_v1");
/// Order memory (issue 17): (store id, order id) -> JSON `order_memory::Remembered`, the buyer
/// (phone, name, e-mail, document) of the latest event of that order that named one, and that
/// event's id and arrival time. A later event of the order whose body names no buyer takes it.
/// Names a phone: `forget.rs` removes a buyer's rows; retention removes rows older than its limit.
pub const ORDER_BUYERS: TableDefinition<(u64, &str), &[u8]> =
    TableDefinition::new("order_buyers_v1");
/// Outbound webhooks (issue 19). Endpoints by id (JSON `domain::outbound::Endpoint`): URL,
/// events, secret, store (or every store), whether disabled and why.
pub const OUTBOUND_ENDPOINTS: TableDefinition<u64, &[u8]> =
    TableDefinition::new("outbound_endpoints_v1");
/// Deliveries by id (JSON `domain::outbound::Delivery`): the body as sent and its attempts.
/// Written by `outbound::Emitter` in the transaction of the change it reports. Names a buyer
/// (`phone`): `forget.rs` removes theirs.
pub const OUTBOUND_DELIVERIES: TableDefinition<u64, &[u8]> =
    TableDefinition::new("outbound_deliveries_v1");
/// (next attempt time, delivery id) of every pending delivery, kept in step with
/// `OUTBOUND_DELIVERIES` (a claim moves it to the lease's end).
pub const OUTBOUND_DUE: TableDefinition<(i64, u64), ()> = TableDefinition::new("outbound_due_v1");
/// (endpoint id, delivery id) of every delivery: an endpoint's log is one range read.
pub const OUTBOUND_LOG: TableDefinition<(u64, u64), ()> = TableDefinition::new("outbound_log_v1");
/// `next_delivery`: the delivery id sequence, apart from `SEQUENCES` because deliveries are
/// written while planning holds that table open.
pub const OUTBOUND_META: TableDefinition<&str, u64> = TableDefinition::new("outbound_meta_v1");
/// Thin notifications (issue 17). Store id -> JSON `domain::enrichment::ApiCredentials`: the
/// store's token for its platform's API. A secret: never shown whole, removed with the store,
/// copied by the backup like every table.
pub const STORE_API_CREDENTIALS: TableDefinition<u64, &[u8]> =
    TableDefinition::new("store_api_credentials_v1");
/// Event id -> JSON `domain::enrichment::EnrichJob`: an event waiting for its resource from the
/// platform's API, written in the transaction of the event (ids and a path, never the buyer).
pub const ENRICH_JOBS: TableDefinition<u64, &[u8]> = TableDefinition::new("enrich_jobs_v1");
/// (next call time, event id) of every job, kept in step with `ENRICH_JOBS` (a claim moves it
/// to the lease's end).
pub const ENRICH_DUE: TableDefinition<(i64, u64), ()> = TableDefinition::new("enrich_due_v1");
