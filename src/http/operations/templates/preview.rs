//! The template preview: the editor's current (unsaved) steps rendered with one of the store's
//! own recent events of the kind (newest first) or, after them, a real fixture event of the
//! store's platform, each step with the due time planning would compute for it if the event
//! arrived now.

use crate::domain::deliverability::variants;
use serde::Serialize;

use super::form::{EditorForm, FieldError};
use crate::domain::planning::{QuietHours, due_time};
use crate::domain::template::StepDelay;
use crate::domain::{EventKind, Platform};
use crate::http::samples::{Sample, SampleSource, samples_for};
use crate::media;
use crate::render;

/// Everything the preview panel (or the JSON API) shows.
#[derive(Clone, Debug, Serialize)]
pub struct PreviewView {
    pub source: SampleSource,
    /// The id of the sample used.
    pub sample: String,
    pub samples: Vec<SampleOption>,
    pub steps: Vec<PreviewStep>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SampleOption {
    pub id: String,
    /// `false`: the event has no usable buyer phone (fine for a preview).
    pub ok: bool,
    /// For one of the store's own events: when it arrived and whose it is.
    pub received_at: Option<i64>,
    pub buyer: Option<String>,
}

/// One of the store's own events, offered before the fixtures.
#[derive(Clone, Debug)]
pub struct OwnEvent {
    pub sample: Sample,
    pub received_at: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct PreviewStep {
    pub step: usize,
    pub delay: DelayView,
    /// When planning would send it for this sample (unix seconds); `None` for a due-date step
    /// whose sample has no usable due date (planning skips it).
    pub due_at: Option<i64>,
    /// "Pedir resposta" (first step only): the invitation, shown before the parts it holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invite: Option<PreviewPart>,
    /// The wait, in minutes, when the invitation is shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_min: Option<String>,
    pub parts: Vec<PreviewPart>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PreviewPart {
    pub part: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// How many texts the part's `{Olá|Oi}` groups can give (1 without groups): the preview
    /// shows one of them.
    pub variants: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<FieldError>,
    /// A media part as a card (`media::show`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media: Option<media::Shown>,
    /// A `#qrcode` part's image, drawn here: a `data:` PNG (nothing is fetched).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr_image: Option<String>,
}

/// A delay in words the page can translate: `amount` of `unit` (`now`, `m`, `h`, `d`, `due`).
#[derive(Clone, Debug, Serialize)]
pub struct DelayView {
    pub valid: bool,
    pub amount: u32,
    pub unit: &'static str,
    /// As typed.
    pub text: String,
}

impl DelayView {
    pub fn new(text: &str) -> DelayView {
        let (valid, amount, unit) = match StepDelay::parse(text) {
            None => (false, 0, "m"),
            Some(StepDelay::OnDueDate) => (true, 0, "due"),
            Some(StepDelay::After { minutes: 0 }) => (true, 0, "now"),
            Some(StepDelay::After { minutes }) if minutes % (24 * 60) == 0 => {
                (true, minutes / (24 * 60), "d")
            }
            Some(StepDelay::After { minutes }) if minutes % 60 == 0 => (true, minutes / 60, "h"),
            Some(StepDelay::After { minutes }) => (true, minutes, "m"),
        };
        DelayView {
            valid,
            amount,
            unit,
            text: text.to_owned(),
        }
    }
}

/// Renders every non-blank part of `form` with the chosen sample (or the first one: the
/// store's newest event of the kind when it has one), as if the event arrived `now`.
pub fn preview(
    form: &EditorForm,
    platform: Platform,
    kind: EventKind,
    public_name: &str,
    own: Vec<OwnEvent>,
    quiet: QuietHours,
    now: i64,
) -> PreviewView {
    let (fixtures, fixture_source) = samples_for(platform, kind);
    let source = if own.is_empty() {
        fixture_source
    } else {
        SampleSource::Store
    };
    let mut options: Vec<SampleOption> = own
        .iter()
        .map(|o| SampleOption {
            id: o.sample.id.clone(),
            ok: o.sample.ok,
            received_at: Some(o.received_at),
            buyer: o.sample.event.customer.name.clone(),
        })
        .collect();
    options.extend(fixtures.iter().map(|s| SampleOption {
        id: s.id.clone(),
        ok: s.ok,
        received_at: None,
        buyer: None,
    }));
    let samples: Vec<Sample> = own.into_iter().map(|o| o.sample).chain(fixtures).collect();
    let chosen = form
        .sample
        .as_deref()
        .and_then(|id| samples.iter().find(|s| s.id == id))
        .unwrap_or(&samples[0]);
    let event = &chosen.event;
    let received = now;
    let steps = form
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let due_at = StepDelay::parse(&step.delay).and_then(|delay| {
                due_time(
                    received,
                    kind,
                    i,
                    delay,
                    event.payment.due_at.as_deref(),
                    quiet,
                )
            });
            let parts = step
                .parts
                .iter()
                .enumerate()
                .filter(|(_, p)| !p.trim().is_empty())
                .map(|(j, source)| {
                    let source = source.replace("\r\n", "\n");
                    let variants = variants::count(source.trim());
                    match render::render(source.trim(), event, public_name) {
                        Ok(text) => {
                            let media = media::shown(&text);
                            let qr_image = media
                                .as_ref()
                                .and_then(|m| m.code.as_deref())
                                .and_then(media::qr_data_uri);
                            PreviewPart {
                                part: j + 1,
                                text: Some(text),
                                variants,
                                error: None,
                                media,
                                qr_image,
                            }
                        }
                        Err(e) => PreviewPart {
                            part: j + 1,
                            text: None,
                            variants,
                            error: Some(FieldError::from_render(i + 1, j + 1, e)),
                            media: None,
                            qr_image: None,
                        },
                    }
                })
                .collect();
            let ask = &form.ask_reply;
            let invite = (i == 0 && ask.enabled && !ask.invite.trim().is_empty()).then(|| {
                match render::render(ask.invite.trim(), event, public_name) {
                    Ok(text) => PreviewPart {
                        part: 0,
                        variants: variants::count(ask.invite.trim()),
                        text: Some(text),
                        error: None,
                        media: None,
                        qr_image: None,
                    },
                    Err(e) => PreviewPart {
                        part: 0,
                        text: None,
                        variants: 1,
                        error: Some(FieldError::from_render(0, 0, e)),
                        media: None,
                        qr_image: None,
                    },
                }
            });
            PreviewStep {
                step: i + 1,
                delay: DelayView::new(&step.delay),
                due_at,
                wait_min: invite.as_ref().map(|_| ask.wait.clone()),
                invite,
                parts,
            }
        })
        .collect();
    PreviewView {
        source,
        sample: chosen.id.clone(),
        samples: options,
        steps,
    }
}

/// The parts of `form` that run out of the render budget (work or length) with any sample of
/// `platform` and `kind`, each reported once.
pub fn budget_errors(
    form: &EditorForm,
    platform: Platform,
    kind: EventKind,
    store_name: &str,
) -> Vec<FieldError> {
    let (samples, _) = samples_for(platform, kind);
    let mut errors: Vec<FieldError> = Vec::new();
    for (i, step) in form.steps.iter().enumerate() {
        for (j, part) in step.parts.iter().enumerate() {
            let source = part.trim();
            if source.is_empty() {
                continue;
            }
            // Every alternative side by side: a long one is caught even if no sample picks it.
            let source = variants::all_alternatives(source);
            let over = samples.iter().find_map(|sample| {
                match render::render(&source, &sample.event, store_name) {
                    Err(
                        e
                        @ (render::RenderError::TooMuchWork | render::RenderError::TooLong { .. }),
                    ) => Some(e),
                    _ => None,
                }
            });
            if let Some(e) = over {
                errors.push(FieldError::from_render(i + 1, j + 1, e));
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::default_template;

    #[test]
    fn the_default_pix_template_previews_with_the_kiwify_code() {
        let form = EditorForm::from_template(&default_template(EventKind::PixGenerated));
        let view = preview(
            &form,
            Platform::Kiwify,
            EventKind::PixGenerated,
            "Loja",
            Vec::new(),
            QuietHours::default(),
            0,
        );
        assert_eq!(view.source, SampleSource::Platform);
        let code = view.steps[0].parts[1].text.as_deref().expect("rendered");
        assert!(code.starts_with("000201"), "{code}");
        assert!(view.steps.iter().all(|s| s.due_at.is_some()));
    }

    #[test]
    fn delays_read_as_words() {
        let units: Vec<_> = ["0", "15m", "2h", "1d", "due", "soon"]
            .iter()
            .map(|t| {
                let d = DelayView::new(t);
                (d.valid, d.amount, d.unit)
            })
            .collect();
        assert_eq!(
            units,
            vec![
                (true, 0, "now"),
                (true, 15, "m"),
                (true, 2, "h"),
                (true, 1, "d"),
                (true, 0, "due"),
                (false, 0, "m"),
            ]
        );
    }
}
