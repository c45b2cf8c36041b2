//! Message templates: per store and event kind, on/off, and steps (the first message and its
//! follow-ups), each with a delay and one or more parts (a PIX code or a boleto line goes in a
//! part of its own, so the buyer copies it with one tap).
//!
//! Defaults ship as text files (`templates/messages/<kind>.txt`) in a small format:
//! `# on` or `# off`, then steps headed `=== delay 15m` (`0`, `30m`, `2h`, `1d`) or
//! `=== on due date`, with parts separated by a line `+++`.

use serde::{Deserialize, Serialize};

use super::EventKind;
use super::deliverability::AskReply;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageTemplate {
    pub kind: EventKind,
    pub enabled: bool,
    pub steps: Vec<TemplateStep>,
    /// "Pedir resposta": the first step's parts wait behind an invitation to answer.
    #[serde(default, skip_serializing_if = "AskReply::is_default")]
    pub ask_reply: AskReply,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateStep {
    pub delay: StepDelay,
    /// Each part becomes one WhatsApp message, sent in order.
    pub parts: Vec<String>,
}

/// When a step goes out, counted from the event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum StepDelay {
    After {
        minutes: u32,
    },
    /// At 09:00 (Brasília) on the payment's due date; skipped when the event has none.
    OnDueDate,
}

impl StepDelay {
    /// The short forms (`0`, `15m`, `2h`, `1d`, `due`) and the Portuguese ones merchants type:
    /// `na hora`, `agora`, `30 minutos`, `2 horas`, `1 dia`, `no vencimento` (any case, accents
    /// optional, "depois" or "após" around them ignored).
    pub fn parse(text: &str) -> Option<StepDelay> {
        let lower = text
            .trim()
            .to_lowercase()
            .replace('ã', "a")
            .replace('ó', "o");
        let t = lower
            .trim_start_matches("depois de ")
            .trim_start_matches("apos ")
            .trim_end_matches(" depois")
            .trim();
        match t {
            "due"
            | "on due date"
            | "no vencimento"
            | "vencimento"
            | "no dia do vencimento"
            | "na data de vencimento" => return Some(StepDelay::OnDueDate),
            "na hora" | "agora" | "imediatamente" => return Some(StepDelay::After { minutes: 0 }),
            _ => {}
        }
        let (number, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
        let n: u32 = number.parse().ok()?;
        let minutes = match unit.trim() {
            "" | "m" | "min" | "mins" | "minuto" | "minutos" => n,
            "h" | "hora" | "horas" => n.checked_mul(60)?,
            "d" | "dia" | "dias" => n.checked_mul(24 * 60)?,
            _ => return None,
        };
        Some(StepDelay::After { minutes })
    }

    /// The short form of the template files (`0`, `15m`, `2h`, `1d`, `due`); `parse` reads it.
    pub fn label(self) -> String {
        match self {
            StepDelay::OnDueDate => "due".to_owned(),
            StepDelay::After { minutes: 0 } => "0".to_owned(),
            StepDelay::After { minutes } if minutes % (24 * 60) == 0 => {
                format!("{}d", minutes / (24 * 60))
            }
            StepDelay::After { minutes } if minutes % 60 == 0 => format!("{}h", minutes / 60),
            StepDelay::After { minutes } => format!("{minutes}m"),
        }
    }

    /// How the editor shows it, in Portuguese with its plural: `na hora`, `1 minuto`,
    /// `30 minutos`, `2 horas`, `1 dia`, `no vencimento`; `parse` reads it back.
    pub fn label_pt(self) -> String {
        let count =
            |n: u32, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        match self {
            StepDelay::OnDueDate => "no vencimento".to_owned(),
            StepDelay::After { minutes: 0 } => "na hora".to_owned(),
            StepDelay::After { minutes } if minutes % (24 * 60) == 0 => {
                count(minutes / (24 * 60), "dia", "dias")
            }
            StepDelay::After { minutes } if minutes % 60 == 0 => {
                count(minutes / 60, "hora", "horas")
            }
            StepDelay::After { minutes } => count(minutes, "minuto", "minutos"),
        }
    }
}

/// Why a template file cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateFileError(pub String);

/// Reads the default-template format.
pub fn parse_template_file(
    kind: EventKind,
    text: &str,
) -> Result<MessageTemplate, TemplateFileError> {
    let mut lines = text.lines();
    let enabled = match lines.next().map(str::trim) {
        Some("# on") => true,
        Some("# off") => false,
        other => {
            return Err(TemplateFileError(format!(
                "first line must be `# on` or `# off`, found {other:?}"
            )));
        }
    };
    let mut steps: Vec<TemplateStep> = Vec::new();
    let mut current = String::new();
    let flush = |steps: &mut Vec<TemplateStep>, current: &mut String| {
        if let Some(step) = steps.last_mut() {
            step.parts.push(current.trim().to_owned());
        }
        current.clear();
    };
    for line in lines {
        if let Some(header) = line.strip_prefix("=== ") {
            flush(&mut steps, &mut current);
            let delay = header
                .strip_prefix("delay ")
                .map_or_else(|| StepDelay::parse(header), StepDelay::parse)
                .ok_or_else(|| TemplateFileError(format!("unknown step header `{line}`")))?;
            steps.push(TemplateStep {
                delay,
                parts: Vec::new(),
            });
        } else if line.trim() == "+++" {
            flush(&mut steps, &mut current);
        } else {
            if steps.is_empty() {
                return Err(TemplateFileError(
                    "text before the first `=== delay` line".into(),
                ));
            }
            current.push_str(line);
            current.push('\n');
        }
    }
    flush(&mut steps, &mut current);
    // A leading flush before any step pushes nothing; drop parts left empty by `+++` at the end.
    for step in &mut steps {
        step.parts.retain(|p| !p.is_empty());
    }
    if steps.is_empty() || steps.iter().any(|s| s.parts.is_empty()) {
        return Err(TemplateFileError("every step needs some text".into()));
    }
    Ok(MessageTemplate {
        kind,
        enabled,
        steps,
        ask_reply: AskReply::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_read_and_print_back() {
        for (text, want) in [
            ("0", StepDelay::After { minutes: 0 }),
            ("15m", StepDelay::After { minutes: 15 }),
            ("2h", StepDelay::After { minutes: 120 }),
            ("1d", StepDelay::After { minutes: 1440 }),
            ("due", StepDelay::OnDueDate),
        ] {
            assert_eq!(StepDelay::parse(text), Some(want), "{text}");
            assert_eq!(StepDelay::parse(&want.label()), Some(want));
        }
        assert_eq!(StepDelay::parse("1w"), None);
        assert_eq!(StepDelay::parse("x"), None);
    }

    #[test]
    fn delays_read_and_print_in_portuguese() {
        for (text, want) in [
            ("na hora", StepDelay::After { minutes: 0 }),
            ("Agora", StepDelay::After { minutes: 0 }),
            ("1 minuto", StepDelay::After { minutes: 1 }),
            ("30 minutos", StepDelay::After { minutes: 30 }),
            ("30 min", StepDelay::After { minutes: 30 }),
            ("1 hora", StepDelay::After { minutes: 60 }),
            ("2 horas", StepDelay::After { minutes: 120 }),
            ("2horas", StepDelay::After { minutes: 120 }),
            ("1 dia", StepDelay::After { minutes: 1440 }),
            ("3 Dias", StepDelay::After { minutes: 3 * 1440 }),
            ("depois de 2 horas", StepDelay::After { minutes: 120 }),
            ("após 1 dia", StepDelay::After { minutes: 1440 }),
            ("no vencimento", StepDelay::OnDueDate),
            ("No dia do vencimento", StepDelay::OnDueDate),
        ] {
            assert_eq!(StepDelay::parse(text), Some(want), "{text}");
            assert_eq!(StepDelay::parse(&want.label_pt()), Some(want));
        }
        let shown: Vec<String> = [0, 1, 30, 60, 120, 1440, 2880, 90]
            .map(|minutes| StepDelay::After { minutes }.label_pt())
            .into_iter()
            .chain([StepDelay::OnDueDate.label_pt()])
            .collect();
        assert_eq!(
            shown,
            [
                "na hora",
                "1 minuto",
                "30 minutos",
                "1 hora",
                "2 horas",
                "1 dia",
                "2 dias",
                "90 minutos",
                "no vencimento"
            ]
        );
        assert_eq!(StepDelay::parse("2 semanas"), None);
    }

    #[test]
    fn a_template_file_has_steps_and_parts() {
        let text =
            "# on\n=== delay 2m\nHello\n+++\n{{ payment.pix_code }}\n=== on due date\nLast day\n";
        let t = parse_template_file(EventKind::PixGenerated, text).expect("parses");
        assert!(t.enabled);
        assert_eq!(t.steps.len(), 2);
        assert_eq!(
            t.steps[0].parts,
            vec!["Hello".to_owned(), "{{ payment.pix_code }}".to_owned()]
        );
        assert_eq!(t.steps[1].delay, StepDelay::OnDueDate);
    }

    #[test]
    fn broken_files_say_why() {
        assert!(parse_template_file(EventKind::OrderPaid, "=== delay 0\nx").is_err());
        assert!(parse_template_file(EventKind::OrderPaid, "# on\nx").is_err());
        assert!(parse_template_file(EventKind::OrderPaid, "# on\n=== delay soon\nx").is_err());
    }
}
