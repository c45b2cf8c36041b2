//! Replies from buyers: is this reply an opt-out word, and may the instance's auto-reply answer
//! it now? Pure rules; the inbox consumer (`queue::inbox`) applies them.

use unicode_normalization::UnicodeNormalization;

/// The opt-out words avisa ships with (Configurações can change them).
pub const DEFAULT_OPT_OUT_WORDS: &[&str] = &["SAIR", "PARAR", "STOP", "CANCELAR"];

/// The shipped confirmation sent once to a buyer who opted out.
pub const DEFAULT_OPT_OUT_CONFIRMATION: &str =
    "Pronto, você não receberá mais mensagens automáticas deste número.";

/// An auto-reply answers one buyer at most once in this many seconds.
pub const AUTO_REPLY_WINDOW_S: i64 = 24 * 3600;

/// A text folded for comparison: trimmed, accents dropped, upper case, inner spaces collapsed,
/// and trailing punctuation ("Sair!", "parar.") ignored.
pub fn fold(text: &str) -> String {
    let plain: String = text
        .nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .collect::<String>()
        .to_uppercase();
    plain
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_end_matches(|c: char| c.is_ascii_punctuation())
        .trim()
        .to_owned()
}

/// The whole reply is one of the opt-out words (not a sentence that happens to contain one:
/// "não quero sair do grupo" is not an opt-out).
pub fn is_opt_out(text: &str, words: &[String]) -> bool {
    let reply = fold(text);
    !reply.is_empty() && words.iter().any(|w| fold(w) == reply)
}

/// Whether the auto-reply may answer a buyer it last answered at `last` (never: `None`).
pub fn auto_reply_due(last: Option<i64>, now: i64) -> bool {
    last.is_none_or(|last| now - last >= AUTO_REPLY_WINDOW_S)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Vec<String> {
        DEFAULT_OPT_OUT_WORDS
            .iter()
            .map(|w| w.to_string())
            .collect()
    }

    #[test]
    fn opt_out_words_match_the_whole_reply_whatever_the_case_accents_and_spaces() {
        let words = defaults();
        let table = [
            ("SAIR", true),
            ("sair", true),
            ("  Sair \n", true),
            ("Sair!", true),
            ("parar.", true),
            ("Stop", true),
            ("cancelar", true),
            ("CANCELÁR", true),
            ("sáir", true),
            ("", false),
            ("   ", false),
            ("quero sair", false),
            ("não quero sair do grupo", false),
            ("sairr", false),
            ("parar de receber", false),
            ("obrigado!", false),
        ];
        for (reply, expected) in table {
            assert_eq!(is_opt_out(reply, &words), expected, "{reply:?}");
        }
    }

    #[test]
    fn configured_words_are_folded_too() {
        let words = vec!["Não quero".to_string(), "descadastrar".to_string()];
        assert!(is_opt_out("nao   QUERO", &words));
        assert!(is_opt_out("Descadastrar", &words));
        assert!(!is_opt_out("sair", &words));
        assert!(!is_opt_out("sair", &[]));
    }

    #[test]
    fn the_auto_reply_answers_once_per_buyer_per_24_hours() {
        let t0 = 1_750_000_000;
        assert!(auto_reply_due(None, t0));
        assert!(!auto_reply_due(Some(t0), t0));
        assert!(!auto_reply_due(Some(t0), t0 + AUTO_REPLY_WINDOW_S - 1));
        assert!(auto_reply_due(Some(t0), t0 + AUTO_REPLY_WINDOW_S));
    }
}
