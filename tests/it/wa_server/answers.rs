//! What the stand-in answers to each stanza a logged-in client sends, in the shapes WhatsApp
//! uses (the library's own request and response types name them): the pre-key count and
//! bundles, usync device lists and contact lookups, the media connection, the reachout-timelock
//! mex query, the passive/active switch (then "no offline messages"), pings; and the ack of every
//! `<message>`. Anything else gets an empty result, which the client logs and moves past.

use whatsapp_rust::NodeBuilder;
use whatsapp_rust::wacore::iq::mediaconn::{
    HostType, MediaConnHostExtended, MediaConnResponseExtended,
};
use whatsapp_rust::wacore::iq::mex_operations::fetch_reachout_timelock;
use whatsapp_rust::wacore::protocol::ProtocolNode;
use whatsapp_rust::wacore_binary::{Jid, Node, NodeContentRef, NodeRef};

use super::peer::Peers;
use super::{Received, Shared, attr};

const SERVER: &str = "s.whatsapp.net";

pub(super) async fn answer(node: &NodeRef<'_>, shared: &Shared, peers: &mut Peers) -> Vec<Node> {
    match node.tag.as_ref() {
        "iq" => answer_iq(node, shared, peers),
        "message" => vec![receive(node, shared, peers).await],
        _ => Vec::new(),
    }
}

fn result(node: &NodeRef<'_>, children: Vec<Node>) -> Node {
    NodeBuilder::new("iq")
        .attr("from", SERVER)
        .attr("type", "result")
        .attr("id", attr(node, "id"))
        .children(children)
        .build()
}

fn child<'a, 'b>(node: &'b NodeRef<'a>, tag: &str) -> Option<&'b NodeRef<'a>> {
    node.get_optional_child(tag)
}

fn answer_iq(node: &NodeRef<'_>, shared: &Shared, peers: &mut Peers) -> Vec<Node> {
    let xmlns = attr(node, "xmlns");
    let kind = attr(node, "type");
    if kind == "result" || kind == "error" {
        return Vec::new();
    }
    match xmlns.as_str() {
        "encrypt" if child(node, "count").is_some() => vec![result(
            node,
            vec![NodeBuilder::new("count").attr("value", "812").build()],
        )],
        "encrypt" if child(node, "key").is_some() => {
            let users = child(node, "key")
                .into_iter()
                .flat_map(|k| k.get_children_by_tag("user"))
                .filter_map(|u| u.get_attr("jid").and_then(|j| j.to_jid()))
                .map(|jid| peers.bundle(&jid))
                .collect::<Vec<_>>();
            vec![result(
                node,
                vec![NodeBuilder::new("list").children(users).build()],
            )]
        }
        "usync" => vec![result(node, usync(node))],
        "w:m" if child(node, "media_conn").is_some() => {
            let hosts = shared
                .media_host
                .iter()
                .map(|host| {
                    let mut h = MediaConnHostExtended::simple(host.clone(), HostType::Primary);
                    h.upload = true;
                    h.download = true;
                    h
                })
                .collect();
            let conn = MediaConnResponseExtended::mock("stand-in-auth".into(), 3600, hosts);
            vec![result(node, vec![conn.into_node()])]
        }
        "w:mex" => mex(node, shared),
        "passive" => vec![
            result(node, Vec::new()),
            // Out of passive mode WhatsApp delivers what waited offline: nothing here.
            NodeBuilder::new("ib")
                .attr("from", SERVER)
                .children([NodeBuilder::new("offline").attr("count", "0").build()])
                .build(),
        ],
        _ => vec![result(node, Vec::new())],
    }
}

/// A usync query: every user is on WhatsApp with one device (the phone, device 0), and no LID.
fn usync(node: &NodeRef<'_>) -> Vec<Node> {
    let Some(usync) = child(node, "usync") else {
        return Vec::new();
    };
    let protocols: Vec<String> = child(usync, "query")
        .and_then(|q| q.children())
        .map(|c| c.iter().map(|p| p.tag.to_string()).collect())
        .unwrap_or_default();
    let users = child(usync, "list")
        .into_iter()
        .flat_map(|l| l.get_children_by_tag("user"))
        .filter_map(|user| {
            let jid = match user.get_attr("jid") {
                Some(jid) => jid.as_str().into_owned(),
                None => {
                    let number = content(child(user, "contact")?);
                    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
                    format!("{digits}@{SERVER}")
                }
            };
            let mut children = Vec::new();
            for protocol in &protocols {
                match protocol.as_str() {
                    "contact" => {
                        children.push(NodeBuilder::new("contact").attr("type", "in").build())
                    }
                    "devices" => children.push(
                        NodeBuilder::new("devices")
                            .children([NodeBuilder::new("device-list")
                                .children([NodeBuilder::new("device").attr("id", "0").build()])
                                .build()])
                            .build(),
                    ),
                    _ => {}
                }
            }
            Some(
                NodeBuilder::new("user")
                    .attr("jid", jid)
                    .children(children)
                    .build(),
            )
        })
        .collect::<Vec<_>>();
    vec![
        NodeBuilder::new("usync")
            .attr("sid", attr(usync, "sid"))
            .attr("mode", attr(usync, "mode"))
            .attr("context", attr(usync, "context"))
            .attr("index", "0")
            .attr("last", "true")
            .children([NodeBuilder::new("list").children(users).build()])
            .build(),
    ]
}

fn content(node: &NodeRef<'_>) -> String {
    match node.content.as_ref() {
        Some(NodeContentRef::String(s)) => s.to_string(),
        Some(NodeContentRef::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    }
}

fn bytes(node: &NodeRef<'_>) -> Vec<u8> {
    match node.content.as_ref() {
        Some(NodeContentRef::Bytes(b)) => b.to_vec(),
        Some(NodeContentRef::String(s)) => s.as_bytes().to_vec(),
        _ => Vec::new(),
    }
}

/// A mex (GraphQL) query: the reachout timelock as scripted; other documents get no data.
fn mex(node: &NodeRef<'_>, shared: &Shared) -> Vec<Node> {
    let query_id = child(node, "query")
        .map(|q| attr(q, "query_id"))
        .unwrap_or_default();
    let body = if query_id == fetch_reachout_timelock::DOC_ID {
        shared.seen.send_modify(|s| s.timelock_queries += 1);
        match shared.script.lock().expect("lock").timelock {
            Some((active, ends)) => serde_json::json!({ "data": {
                "xwa2_fetch_account_reachout_timelock": {
                    "is_active": active,
                    "time_enforcement_ends": ends.to_string(),
                    "enforcement_type": if active { "REACHOUT_TIMELOCK" } else { "NONE" },
                }
            }}),
            None => serde_json::json!({ "data": null, "errors": [{
                "message": "no reachout state", "extensions": { "error_code": 404, "severity": "CRITICAL" }
            }]}),
        }
    } else {
        serde_json::json!({ "data": null })
    };
    vec![result(
        node,
        vec![
            NodeBuilder::new("result")
                .bytes(body.to_string().into_bytes())
                .build(),
        ],
    )]
}

/// Records a `<message>`, opens the recipient's copy, and acknowledges it as scripted.
async fn receive(node: &NodeRef<'_>, shared: &Shared, peers: &mut Peers) -> Node {
    let id = attr(node, "id");
    let to = attr(node, "to");
    let recipient = to.parse::<Jid>().ok().map(|j| j.user.to_string());
    // The copies: one `<enc>` per device under `<participants>`, or a single `<enc>`.
    let mut copies: Vec<(String, &NodeRef<'_>)> = Vec::new();
    if let Some(participants) = child(node, "participants") {
        for to_node in participants.get_children_by_tag("to") {
            if let (Some(jid), Some(enc)) = (to_node.get_attr("jid"), child(to_node, "enc")) {
                copies.push((jid.as_str().into_owned(), enc));
            }
        }
    } else if let Some(enc) = child(node, "enc") {
        copies.push((to.clone(), enc));
    }
    let mut message = None;
    for (device, enc) in copies {
        let Ok(device) = device.parse::<Jid>() else {
            continue;
        };
        if Some(device.user.to_string()) != recipient || message.is_some() {
            continue;
        }
        let version = attr(enc, "v").parse().unwrap_or(2);
        message = peers
            .open(
                &device.to_string(),
                &attr(enc, "type"),
                version,
                &bytes(enc),
            )
            .await;
    }
    let kind = attr(node, "type");
    shared.seen.send_modify(|s| {
        s.messages.push(Received {
            id: id.clone(),
            to: to.clone(),
            kind,
            message,
        })
    });
    let nack = shared.script.lock().expect("lock").nack.clone();
    let mut ack = NodeBuilder::new("ack")
        .attr("class", "message")
        .attr("id", id)
        .attr("from", to)
        .attr("t", "1763478000");
    if let Some(code) = nack {
        ack = ack.attr("error", code);
    }
    ack.build()
}
