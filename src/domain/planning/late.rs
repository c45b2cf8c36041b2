//! Planning an event long after it arrived: the merchant mapped its name and re-processed the
//! events held as unmapped. It is planned as if it had just arrived, except that a step whose
//! moment passed by more than its own delay is planned canceled, "chegou tarde": a buyer is not
//! sent a reminder about something from days ago.

use super::{Facts, Plan, Templates, plan};
use crate::domain::reason::Reason;
use crate::domain::template::StepDelay;
use crate::domain::{Event, MessageStatus, StatusChange};

/// The least lateness a step tolerates: an immediate step (delay 0) of an event mapped and
/// re-processed within the hour still goes out.
pub const LATE_FLOOR_S: i64 = 3600;

/// Whether a step of `delay` is too late for an event received at `received`, planned at `now`:
/// its moment (`received + delay`) passed by more than the delay (at least `LATE_FLOOR_S`). A
/// step on the due date is decided by the due date itself (planning skips a passed date).
pub fn arrived_late(delay: StepDelay, received: i64, now: i64) -> bool {
    match delay {
        StepDelay::After { minutes } => {
            let delay = i64::from(minutes) * 60;
            now - (received + delay) > delay.max(LATE_FLOOR_S)
        }
        StepDelay::OnDueDate => false,
    }
}

/// `plan` for an event received at `received` and planned only `now`.
pub fn plan_late(
    event: &Event,
    templates: &impl Templates,
    facts: &Facts<'_>,
    now: i64,
    received: i64,
) -> Plan {
    let mut plan = plan(event, templates, facts, now);
    let Some(kind) = event.kind else {
        return plan;
    };
    let template = match &facts.saved_template {
        Some(saved) => saved.clone(),
        None => templates.shipped(kind, facts.store.platform),
    };
    for message in &mut plan.create {
        let Some(step) = template.steps.get(message.step as usize) else {
            continue;
        };
        if message.status == MessageStatus::Scheduled && arrived_late(step.delay, received, now) {
            message.status = MessageStatus::Canceled;
            message.history = vec![StatusChange {
                at: now,
                status: MessageStatus::Canceled,
                reason: Some(Reason::ArrivedLate.code().to_owned()),
            }];
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_is_late_when_its_moment_passed_by_more_than_its_delay() {
        let hour = 3600;
        let after = |minutes| StepDelay::After { minutes };
        // (delay, event age when planned, late?)
        let table = [
            (after(0), 0, false),
            (after(0), 3600, false),
            (after(0), 3601, true),
            (after(30), 5400, false),
            (after(30), 5401, true),
            (after(60), hour, false),
            (after(60), 2 * hour, false),
            (after(60), 2 * hour + 1, true),
            (after(24 * 60), 30 * hour, false),
            (after(24 * 60), 49 * hour, true),
            (StepDelay::OnDueDate, 1000 * hour, false),
        ];
        for (delay, age, late) in table {
            assert_eq!(
                arrived_late(delay, 1_000_000, 1_000_000 + age),
                late,
                "{delay:?} at {age}s"
            );
        }
    }
}
