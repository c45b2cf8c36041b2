//! The template editor's form: reading the posted fields (`delay.N`, `part.N.M`), the structural
//! buttons that work without JavaScript (add or remove a step or a part), and validation into a
//! `MessageTemplate` with errors that name the step, the part and the line.

use serde::Serialize;

use crate::domain::EventKind;
use crate::domain::template::{MessageTemplate, StepDelay, TemplateStep};
use crate::media::{self, MediaKind, PartError};
use crate::render::{self, RenderError};

/// The first message plus at most four follow-ups.
pub const MAX_STEPS: usize = 5;
/// Text, then e.g. the PIX code alone, then one more.
pub const MAX_PARTS: usize = 3;
/// A part longer than this is not a WhatsApp message anyone reads.
const MAX_PART_CHARS: usize = 4000;

/// The editor's content as typed (unsaved).
#[derive(Clone, Debug, Default, Serialize)]
pub struct EditorForm {
    pub enabled: bool,
    pub steps: Vec<StepForm>,
    /// The chosen preview sample.
    pub sample: Option<String>,
    /// "Pedir resposta".
    pub ask_reply: super::ask_reply_form::AskReplyForm,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct StepForm {
    pub delay: String,
    pub parts: Vec<String>,
}

/// A button that reshapes the form instead of saving it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Preview,
    AddStep,
    RemoveStep(usize),
    AddPart(usize),
    RemovePart(usize, usize),
    /// An insert button: a new part (or the step's blank last part) with a media directive.
    AddMedia(usize, MediaKind),
}

/// What an insert button writes: the directive with the usual source, and a caption.
pub fn media_snippet(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Image => "#imagem {{ product_image_url }}\n{{ product_names }}",
        MediaKind::Document => "#documento {{ payment.boleto_pdf_url }}\nSeu boleto em PDF.",
        MediaKind::Audio => "#audio https://",
        MediaKind::QrCode => {
            "#qrcode {{ payment.pix_code }}\nAbra o app do banco e aponte a câmera para o QR code."
        }
    }
}

/// What is wrong with one step or part; numbers are 1-based, as the page shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub step: usize,
    pub part: Option<usize>,
    pub line: Option<usize>,
    /// `unknown_variable`, `syntax`, `not_allowed`, `render_failed`, `bad_delay`, `empty_step`, `too_long`,
    /// `too_much_work`, `output_too_long`; a media part's `media_unknown_kind`,
    /// `media_missing_source`, `media_not_a_url`, `media_caption` (`media::PartError`).
    pub code: &'static str,
    pub detail: String,
}

impl FieldError {
    /// A rendering problem of one part.
    pub fn from_render(step: usize, part: usize, error: RenderError) -> FieldError {
        let (line, code, detail) = match error {
            RenderError::UnknownVariable { name, line } => (Some(line), "unknown_variable", name),
            RenderError::Syntax { line, message } => (Some(line), "syntax", message),
            RenderError::NotAllowed { line, message } => (Some(line), "not_allowed", message),
            RenderError::Failed(message) => (None, "render_failed", message),
            RenderError::TooMuchWork => (None, "too_much_work", String::new()),
            RenderError::TooLong { limit } => (None, "output_too_long", limit.to_string()),
        };
        FieldError {
            step,
            part: Some(part),
            line,
            code,
            detail,
        }
    }
}

impl FieldError {
    /// A media directive that cannot be used (the part's first line, or its caption).
    pub fn from_media(step: usize, part: usize, error: PartError) -> FieldError {
        let (line, code, detail) = match error {
            PartError::UnknownKind(word) => (1, "media_unknown_kind", word),
            PartError::MissingSource(kind) => (1, "media_missing_source", kind.directive().into()),
            PartError::NotAUrl(source) => (1, "media_not_a_url", source),
            PartError::CaptionNotAllowed(kind) => (2, "media_caption", kind.directive().into()),
        };
        FieldError {
            step,
            part: Some(part),
            line: Some(line),
            code,
            detail,
        }
    }
}

/// A tag that would go out literally (`{nome}`, `[link_boleto]`): saving is allowed, the page
/// warns. Numbers are 1-based.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldWarning {
    pub step: usize,
    pub part: usize,
    pub line: usize,
    pub tag: String,
    pub suggestion: String,
}

/// Browsers send textarea lines as CRLF; templates keep LF and no surrounding blank lines.
fn clean(text: &str) -> String {
    text.replace("\r\n", "\n").trim().to_owned()
}

impl EditorForm {
    /// The form of a stored or default template.
    pub fn from_template(template: &MessageTemplate) -> EditorForm {
        EditorForm {
            enabled: template.enabled,
            steps: template
                .steps
                .iter()
                .map(|s| StepForm {
                    delay: s.delay.label_pt(),
                    parts: s.parts.clone(),
                })
                .collect(),
            sample: None,
            ask_reply: super::ask_reply_form::AskReplyForm::from_template(template),
        }
    }

    /// Reads posted fields; anything beyond the limits is ignored. Returns the button pressed.
    pub fn from_pairs(pairs: &[(String, String)]) -> (EditorForm, Option<Action>) {
        let mut form = EditorForm::default();
        let mut action = None;
        let index = |s: &str| s.parse::<usize>().ok();
        for (key, value) in pairs {
            if form.ask_reply.read(key, value) {
                continue;
            }
            let mut pieces = key.split('.');
            match (pieces.next(), pieces.next(), pieces.next()) {
                (Some("enabled"), None, None) => form.enabled = true,
                (Some("sample"), None, None) if !value.is_empty() => {
                    form.sample = Some(value.clone());
                }
                (Some("action"), None, None) => action = parse_action(value),
                (Some("delay"), Some(i), None) => {
                    if let Some(step) = index(i).and_then(|i| form.step_mut(i)) {
                        step.delay = value.trim().to_owned();
                    }
                }
                (Some("part"), Some(i), Some(j)) => {
                    let (Some(i), Some(j)) = (index(i), index(j)) else {
                        continue;
                    };
                    if let Some(step) = form.step_mut(i)
                        && j < MAX_PARTS
                    {
                        if step.parts.len() <= j {
                            step.parts.resize(j + 1, String::new());
                        }
                        step.parts[j] = value.replace("\r\n", "\n");
                    }
                }
                _ => {}
            }
        }
        for step in &mut form.steps {
            if step.parts.is_empty() {
                step.parts.push(String::new());
            }
        }
        (form, action)
    }

    fn step_mut(&mut self, i: usize) -> Option<&mut StepForm> {
        if i >= MAX_STEPS {
            return None;
        }
        if self.steps.len() <= i {
            self.steps.resize(i + 1, StepForm::default());
        }
        self.steps.get_mut(i)
    }

    /// Applies a structural button; the limits hold (at least one step and one part each).
    pub fn apply(&mut self, action: Action) {
        match action {
            Action::Preview => {}
            Action::AddStep if self.steps.len() < MAX_STEPS => self.steps.push(StepForm {
                delay: "1d".to_owned(),
                parts: vec![String::new()],
            }),
            Action::RemoveStep(i) if self.steps.len() > 1 && i < self.steps.len() => {
                self.steps.remove(i);
            }
            Action::AddPart(i) => {
                if let Some(step) = self.steps.get_mut(i)
                    && step.parts.len() < MAX_PARTS
                {
                    step.parts.push(String::new());
                }
            }
            Action::AddMedia(i, kind) => {
                if let Some(step) = self.steps.get_mut(i) {
                    let snippet = media_snippet(kind).to_owned();
                    let full = step.parts.len() >= MAX_PARTS;
                    match step.parts.last_mut() {
                        Some(last) if last.trim().is_empty() => *last = snippet,
                        _ if !full => step.parts.push(snippet),
                        _ => {}
                    }
                }
            }
            Action::RemovePart(i, j) => {
                if let Some(step) = self.steps.get_mut(i)
                    && step.parts.len() > 1
                    && j < step.parts.len()
                {
                    step.parts.remove(j);
                }
            }
            _ => {}
        }
    }

    /// Tags in any part that would reach the buyer as written.
    pub fn warnings(&self) -> Vec<FieldWarning> {
        let mut out = Vec::new();
        for (i, step) in self.steps.iter().enumerate() {
            for (j, part) in step.parts.iter().enumerate() {
                for tag in render::literal_tags(&clean(part)) {
                    out.push(FieldWarning {
                        step: i + 1,
                        part: j + 1,
                        line: tag.line,
                        tag: tag.tag,
                        suggestion: tag.suggestion,
                    });
                }
            }
        }
        out
    }

    /// Checks every step: a delay `StepDelay::parse` reads, at least one non-blank part, and
    /// parts that `render::validate` accepts, naming no `vars.<name>` but the kind's declared
    /// ones (a custom kind's; a canonical kind declares none). Blank parts are dropped.
    pub fn validate_with_vars(
        &self,
        kind: EventKind,
        declared: &[String],
    ) -> Result<MessageTemplate, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut steps = Vec::new();
        if self.steps.is_empty() {
            errors.push(FieldError {
                step: 1,
                part: None,
                line: None,
                code: "empty_step",
                detail: String::new(),
            });
        }
        for (i, step) in self.steps.iter().enumerate() {
            let n = i + 1;
            let delay = StepDelay::parse(&step.delay);
            if delay.is_none() {
                errors.push(FieldError {
                    step: n,
                    part: None,
                    line: None,
                    code: "bad_delay",
                    detail: step.delay.clone(),
                });
            }
            let mut parts = Vec::new();
            for (j, part) in step.parts.iter().enumerate() {
                let text = clean(part);
                if text.is_empty() {
                    continue;
                }
                if text.chars().count() > MAX_PART_CHARS {
                    errors.push(FieldError {
                        step: n,
                        part: Some(j + 1),
                        line: None,
                        code: "too_long",
                        detail: MAX_PART_CHARS.to_string(),
                    });
                } else if let Err(e) = render::validate(&text) {
                    errors.push(FieldError::from_render(n, j + 1, e));
                } else if let Err(e) = media::parse_part(&text) {
                    errors.push(FieldError::from_media(n, j + 1, e));
                } else if let Some(var) = render::vars_used(&text)
                    .into_iter()
                    .find(|v| !declared.contains(v))
                {
                    let name = format!("vars.{var}");
                    let line = text.lines().position(|l| l.contains(&name)).map(|i| i + 1);
                    errors.push(FieldError::from_render(
                        n,
                        j + 1,
                        render::RenderError::UnknownVariable {
                            name,
                            line: line.unwrap_or(1),
                        },
                    ));
                }
                parts.push(text);
            }
            if parts.is_empty() {
                errors.push(FieldError {
                    step: n,
                    part: None,
                    line: None,
                    code: "empty_step",
                    detail: String::new(),
                });
            }
            if let Some(delay) = delay {
                steps.push(TemplateStep { delay, parts });
            }
        }
        let ask_reply = self.ask_reply.validate(kind).unwrap_or_else(|mut e| {
            errors.append(&mut e);
            Default::default()
        });
        if errors.is_empty() {
            Ok(MessageTemplate {
                kind,
                enabled: self.enabled,
                ask_reply,
                steps,
            })
        } else {
            Err(errors)
        }
    }
}

/// `preview`, `add_step`, `remove_step.N`, `add_part.N`, `remove_part.N.M`,
/// `add_media.N.KIND` (`image`, `document`, `audio`, `qrcode`).
fn parse_action(value: &str) -> Option<Action> {
    let mut pieces = value.split('.');
    let name = pieces.next()?;
    if name == "add_media" {
        let step = pieces.next()?.parse::<usize>().ok()?;
        let kind = pieces.next()?;
        let kind = MediaKind::ALL.into_iter().find(|k| k.name() == kind)?;
        return Some(Action::AddMedia(step, kind));
    }
    let a = pieces.next().and_then(|s| s.parse::<usize>().ok());
    let b = pieces.next().and_then(|s| s.parse::<usize>().ok());
    match (name, a, b) {
        ("preview", None, None) => Some(Action::Preview),
        ("add_step", None, None) => Some(Action::AddStep),
        ("remove_step", Some(i), None) => Some(Action::RemoveStep(i)),
        ("add_part", Some(i), None) => Some(Action::AddPart(i)),
        ("remove_part", Some(i), Some(j)) => Some(Action::RemovePart(i, j)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn posted_fields_become_steps_and_parts() {
        let (form, action) = EditorForm::from_pairs(&pairs(&[
            ("enabled", "1"),
            ("delay.0", "15m"),
            ("part.0.0", "Oi {{ customer.first_name }}\r\ntudo bem?"),
            ("part.0.1", "{{ payment.pix_code }}"),
            ("delay.1", "due"),
            ("part.1.0", "Vence hoje"),
            ("part.1.7", "ignored: beyond the parts limit"),
            ("delay.9", "ignored: beyond the steps limit"),
            ("action", "add_part.1"),
        ]));
        assert_eq!(action, Some(Action::AddPart(1)));
        assert!(form.enabled);
        assert_eq!(form.steps.len(), 2);
        assert_eq!(
            form.steps[0].parts[0],
            "Oi {{ customer.first_name }}\ntudo bem?"
        );
        let template = form
            .validate_with_vars(EventKind::PixGenerated, &[])
            .expect("valid");
        assert_eq!(template.steps[1].delay, StepDelay::OnDueDate);
        assert_eq!(template.steps[0].parts.len(), 2);
    }

    #[test]
    fn errors_name_the_step_the_part_and_the_line() {
        let (form, _) = EditorForm::from_pairs(&pairs(&[
            ("delay.0", "0"),
            ("part.0.0", "ok"),
            ("delay.1", "amanhã"),
            ("part.1.0", "linha um\nlinha dois\n{{ cliente.nome }}"),
            ("part.1.1", "{% if %}"),
            ("delay.2", "1d"),
            ("part.2.0", "  "),
        ]));
        let errors = form
            .validate_with_vars(EventKind::OrderPaid, &[])
            .expect_err("invalid");
        let codes: Vec<_> = errors.iter().map(|e| (e.step, e.part, e.code)).collect();
        assert_eq!(
            codes,
            vec![
                (2, None, "bad_delay"),
                (2, Some(1), "unknown_variable"),
                (2, Some(2), "syntax"),
                (3, None, "empty_step"),
            ]
        );
        assert_eq!(errors[1].line, Some(3));
        assert_eq!(errors[1].detail, "cliente.nome");
    }

    #[test]
    fn a_custom_kind_may_use_the_vars_it_declares_and_no_other() {
        let live = EventKind::parse_with_custom("custom.live").expect("custom");
        let (form, _) = EditorForm::from_pairs(&pairs(&[
            ("enabled", "1"),
            ("delay.0", "0"),
            (
                "part.0.0",
                "{{ saudacao }}! Link: {{ vars.link }}\n{{ vars.cupom }}",
            ),
        ]));
        let declared = vec!["link".to_owned()];
        let errors = form
            .validate_with_vars(live, &declared)
            .expect_err("cupom is not declared");
        assert_eq!(
            errors
                .iter()
                .map(|e| (e.code, e.line, e.detail.as_str()))
                .collect::<Vec<_>>(),
            vec![("unknown_variable", Some(2), "vars.cupom")]
        );
        let declared = vec!["link".to_owned(), "cupom".to_owned()];
        assert!(form.validate_with_vars(live, &declared).is_ok());
        // A canonical kind declares no vars.
        assert!(form.validate_with_vars(EventKind::OrderPaid, &[]).is_err());
    }

    #[test]
    fn structural_buttons_keep_the_limits() {
        let mut form = EditorForm {
            steps: vec![StepForm {
                delay: "0".into(),
                parts: vec!["a".into()],
            }],
            ..EditorForm::default()
        };
        form.apply(Action::RemoveStep(0));
        form.apply(Action::RemovePart(0, 0));
        assert_eq!(form.steps.len(), 1);
        assert_eq!(form.steps[0].parts.len(), 1);
        for _ in 0..10 {
            form.apply(Action::AddStep);
            form.apply(Action::AddPart(0));
        }
        assert_eq!(form.steps.len(), MAX_STEPS);
        assert_eq!(form.steps[0].parts.len(), MAX_PARTS);
        form.apply(Action::RemoveStep(1));
        assert_eq!(form.steps.len(), MAX_STEPS - 1);
    }
}

#[cfg(test)]
#[path = "form_media_tests.rs"]
mod media_form_tests;
