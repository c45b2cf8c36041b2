//! The editor's "Pedir resposta" card: the switch, the invitation (a template part) and the wait
//! in minutes, read from the posted fields `ask_reply`, `ask_reply.invite`, `ask_reply.wait`
//! and checked into a `domain::deliverability::AskReply`. Its errors carry step 0 (the card,
//! not a step).

use serde::Serialize;

use super::form::FieldError;
use crate::domain::EventKind;
use crate::domain::deliverability::AskReply;
use crate::domain::deliverability::ask_reply::{default_invite, parse_timeout};
use crate::domain::template::MessageTemplate;
use crate::render;

/// The card as typed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AskReplyForm {
    pub enabled: bool,
    pub invite: String,
    pub wait: String,
}

impl AskReplyForm {
    /// The card of a stored or shipped template: the invitation shown is the shipped one when
    /// the merchant wrote none.
    pub fn from_template(template: &MessageTemplate) -> AskReplyForm {
        let ask = &template.ask_reply;
        AskReplyForm {
            enabled: ask.enabled,
            invite: ask.invite_text(template.kind).to_owned(),
            wait: ask.timeout_min.to_string(),
        }
    }

    /// Takes a posted field of the card; false when `key` is not one.
    pub fn read(&mut self, key: &str, value: &str) -> bool {
        match key {
            "ask_reply" => self.enabled = true,
            "ask_reply.invite" => self.invite = value.replace("\r\n", "\n"),
            "ask_reply.wait" => self.wait = value.trim().to_owned(),
            _ => return false,
        }
        true
    }

    /// A blank card (a form posted without it, e.g. by an older page) reads as the defaults.
    pub fn validate(&self, kind: EventKind) -> Result<AskReply, Vec<FieldError>> {
        let invite = self.invite.trim();
        let mut errors = Vec::new();
        let timeout_min = if self.wait.is_empty() {
            AskReply::default().timeout_min
        } else {
            parse_timeout(&self.wait).unwrap_or_else(|why| {
                errors.push(card_error("ask_reply_wait", why));
                0
            })
        };
        if self.enabled && invite.is_empty() {
            errors.push(card_error("ask_reply_empty", String::new()));
        }
        if let Err(e) = render::validate(invite) {
            let mut error = FieldError::from_render(0, 0, e);
            error.part = None;
            errors.push(error);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        // The shipped invitation is kept as "none written", so a better shipped text reaches it.
        let invite = if invite == default_invite(kind) {
            String::new()
        } else {
            invite.to_owned()
        };
        Ok(AskReply {
            enabled: self.enabled,
            invite,
            timeout_min,
        })
    }
}

fn card_error(code: &'static str, detail: String) -> FieldError {
    FieldError {
        step: 0,
        part: None,
        line: None,
        code,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(enabled: bool, invite: &str, wait: &str) -> AskReplyForm {
        AskReplyForm {
            enabled,
            invite: invite.into(),
            wait: wait.into(),
        }
    }

    #[test]
    fn the_card_reads_into_the_option_and_keeps_the_shipped_invitation_as_none_written() {
        let kind = EventKind::BoletoGenerated;
        let shipped = form(true, default_invite(kind), "15").validate(kind);
        assert_eq!(
            shipped,
            Ok(AskReply {
                enabled: true,
                invite: String::new(),
                timeout_min: 15
            })
        );
        let own = form(true, "Oi! Responda 1 😊", "")
            .validate(kind)
            .expect("valid");
        assert_eq!(
            (own.invite.as_str(), own.timeout_min),
            ("Oi! Responda 1 😊", 10)
        );
        let codes = |f: AskReplyForm| -> Vec<&'static str> {
            f.validate(kind)
                .expect_err("invalid")
                .into_iter()
                .map(|e| e.code)
                .collect()
        };
        assert_eq!(codes(form(true, "  ", "10")), ["ask_reply_empty"]);
        assert_eq!(codes(form(true, "Oi", "0")), ["ask_reply_wait"]);
        assert_eq!(codes(form(false, "Oi", "muito")), ["ask_reply_wait"]);
        assert_eq!(
            codes(form(true, "{{ cliente }}", "10")),
            ["unknown_variable"]
        );
    }
}
