//! Text variation: a template may write alternatives as `{Olá|Oi|Opa}` so hundreds of buyers do
//! not all get byte-identical texts (WhatsApp's spam signals weigh identical bulk texts). Each
//! message picks one alternative per group from a seed of its own (the event), when it is
//! planned: the text is rendered once and stored, so what is shown is what is sent.
//!
//! A group is a single `{` … `}` holding at least one `|` outside template tags; alternatives may
//! hold template tags (`{Olá {{ customer.first_name }}|Oi}`). `{{ … }}`, `{% … %}` and `{# … #}`
//! are the template's own and are never groups; a brace pair without `|` (`{pedido}`) is text.

/// A piece of a template's source: text as written, or a group of alternatives.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece<'s> {
    Text(&'s str),
    Group(Vec<&'s str>),
}

/// The closing of the template tag that opens at the start of `s`, if one does.
fn tag_end(s: &str) -> Option<usize> {
    let close = match s.get(..2)? {
        "{{" => "}}",
        "{%" => "%}",
        "{#" => "#}",
        _ => return None,
    };
    // An unclosed tag runs to the end: the template parser reports it.
    Some(s[2..].find(close).map_or(s.len(), |at| 2 + at + 2))
}

/// The group opening at the start of `s` (a single `{`): its alternatives and its length.
fn group(s: &str) -> Option<(Vec<&str>, usize)> {
    let mut splits = vec![1];
    let mut i = 1;
    while i < s.len() {
        let rest = &s[i..];
        if let Some(len) = tag_end(rest) {
            i += len;
            continue;
        }
        let c = rest.chars().next()?;
        match c {
            '{' => return None,
            '|' => splits.push(i + 1),
            '}' => {
                if splits.len() < 2 {
                    return None;
                }
                splits.push(i + 1);
                let alternatives = splits.windows(2).map(|w| &s[w[0]..w[1] - 1]).collect();
                return Some((alternatives, i + 1));
            }
            _ => {}
        }
        i += c.len_utf8();
    }
    None
}

fn pieces(source: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut text_from = 0;
    let mut i = 0;
    while i < source.len() {
        let rest = &source[i..];
        if let Some(len) = tag_end(rest) {
            i += len;
            continue;
        }
        if rest.starts_with('{')
            && let Some((alternatives, len)) = group(rest)
        {
            if text_from < i {
                out.push(Piece::Text(&source[text_from..i]));
            }
            out.push(Piece::Group(alternatives));
            i += len;
            text_from = i;
            continue;
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    if text_from < source.len() {
        out.push(Piece::Text(&source[text_from..]));
    }
    out
}

/// How many different texts the source can give (saturating; 1 without groups).
pub fn count(source: &str) -> u64 {
    pieces(source)
        .iter()
        .map(|p| match p {
            Piece::Group(a) => a.len() as u64,
            Piece::Text(_) => 1,
        })
        .fold(1u64, u64::saturating_mul)
}

/// The source with one alternative of each group, picked from `seed`: the same seed picks the
/// same variant; different seeds spread over the variants.
pub fn choose(source: &str, seed: &str) -> String {
    let mut out = String::with_capacity(source.len());
    for (n, piece) in pieces(source).into_iter().enumerate() {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Group(alternatives) => {
                let pick = fnv1a(seed, n as u64) % alternatives.len() as u64;
                out.push_str(alternatives[pick as usize]);
            }
        }
    }
    out
}

/// Every alternative of every group side by side (joined by a space): what the save-time check
/// validates, so a broken or unknown variable in any alternative is refused, on its own line.
pub fn all_alternatives(source: &str) -> String {
    pieces(source)
        .into_iter()
        .map(|piece| match piece {
            Piece::Text(t) => t.to_owned(),
            Piece::Group(alternatives) => alternatives.join(" "),
        })
        .collect()
}

/// FNV-1a over the seed and the group's position: stable across runs and platforms.
fn fnv1a(seed: &str, group: u64) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in seed.bytes().chain(group.to_le_bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}
