//! The cosmetic tail of a store's webhook URL, made from its name: pure text folding.

/// The longest slug, in characters (all ASCII).
pub const MAX_SLUG: usize = 40;

/// The slug used when a name has no letter or digit avisa can keep.
pub const FALLBACK_SLUG: &str = "loja";

/// `Loja da Conceição` -> `loja-da-conceicao`: lower-case ASCII, accents folded, every run of
/// other characters one `-`, no `-` at either end, at most [`MAX_SLUG`] characters.
pub fn slugify(name: &str) -> String {
    let mut slug = String::with_capacity(name.len().min(MAX_SLUG));
    let mut pending_dash = false;
    for c in name.chars().flat_map(fold) {
        if c.is_ascii_alphanumeric() {
            if pending_dash && !slug.is_empty() {
                if slug.len() + 1 >= MAX_SLUG {
                    break;
                }
                slug.push('-');
            }
            pending_dash = false;
            if slug.len() == MAX_SLUG {
                break;
            }
            slug.push(c.to_ascii_lowercase());
        } else {
            pending_dash = true;
        }
    }
    if slug.is_empty() {
        FALLBACK_SLUG.to_owned()
    } else {
        slug
    }
}

/// One character as plain ASCII where a Latin letter hides under the accent; others pass through
/// (and then become a separator).
fn fold(c: char) -> impl Iterator<Item = char> {
    let plain: &'static str = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ª' => "a",
        'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => "A",
        'ç' | 'Ç' => "c",
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => "e",
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => "i",
        'ñ' | 'Ñ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'º' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => {
            "o"
        }
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => "u",
        'ý' | 'ÿ' | 'Ý' => "y",
        'æ' | 'Æ' => "ae",
        'œ' | 'Œ' => "oe",
        'ß' => "ss",
        '&' => "e",
        _ => "",
    };
    let own = plain.is_empty().then_some(c);
    plain.chars().chain(own)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_from_merchant_names() {
        let long = "a".repeat(60);
        let cases: &[(&str, &str)] = &[
            ("Minha Loja", "minha-loja"),
            ("Loja da Conceição", "loja-da-conceicao"),
            ("Ótica São João", "otica-sao-joao"),
            ("Pão & Café", "pao-e-cafe"),
            ("  --Curso   de Inglês!!  ", "curso-de-ingles"),
            ("Hotmart #2 (principal)", "hotmart-2-principal"),
            ("AÇAÍ DO ZÉ", "acai-do-ze"),
            ("Straße", "strasse"),
            ("1º lugar", "1o-lugar"),
            ("loja_nova.com.br", "loja-nova-com-br"),
            ("", "loja"),
            ("!!!", "loja"),
            ("日本語", "loja"),
            ("Café 日本", "cafe"),
            (&long, &long[..40]),
        ];
        for (name, expected) in cases {
            assert_eq!(slugify(name), *expected, "slug of {name:?}");
        }
    }

    #[test]
    fn a_long_name_is_cut_without_a_trailing_dash() {
        let name = "Loja de Roupas Femininas e Masculinas da Família Silva";
        let slug = slugify(name);
        assert!(slug.len() <= MAX_SLUG, "{slug}");
        assert!(!slug.ends_with('-'), "{slug}");
        assert_eq!(slug, "loja-de-roupas-femininas-e-masculinas-da");
    }
}
