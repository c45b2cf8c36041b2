//! Text variation: `{Olá|Oi|Opa}` groups, the template's own tags untouched, one variant fixed
//! per seed, and every alternative offered to the save-time check.

use super::variants::{all_alternatives, choose, count};

#[test]
fn deliverability_variants_a_group_gives_one_of_its_alternatives() {
    let source = "{Olá|Oi|Opa}, {{ customer.first_name }}! Seu boleto vence amanhã.";
    assert_eq!(count(source), 3);
    let mut seen = std::collections::BTreeSet::new();
    for n in 0..60 {
        let text = choose(source, &format!("event-{n}"));
        assert!(
            text.ends_with(", {{ customer.first_name }}! Seu boleto vence amanhã."),
            "{text}"
        );
        seen.insert(text.split(',').next().unwrap_or_default().to_owned());
    }
    let seen: Vec<_> = seen.into_iter().collect();
    assert_eq!(
        seen,
        ["Oi", "Olá", "Opa"],
        "60 buyers spread over all three"
    );
}

#[test]
fn deliverability_variants_the_same_seed_picks_the_same_variant() {
    let source = "{Olá|Oi} {tudo bem?|como vai?} {Segue|Aqui está} o link.";
    assert_eq!(count(source), 8);
    let first = choose(source, "hotmart:HP123:boleto.generated");
    for _ in 0..5 {
        assert_eq!(choose(source, "hotmart:HP123:boleto.generated"), first);
    }
}

#[test]
fn deliverability_variants_leave_template_tags_and_plain_braces_alone() {
    let cases = [
        // A filter's `|` inside an expression is not a group.
        "Total: {{ total | brl }}",
        "{% if payment.pix_code %}PIX{% endif %}",
        "{# comentário | com barra #}",
        // Braces without `|` are text.
        "Pedido {pedido} confirmado",
        // An unclosed group is text (and the template check says what is wrong).
        "{Olá|Oi sem fechar",
    ];
    for source in cases {
        assert_eq!(count(source), 1, "{source}");
        assert_eq!(choose(source, "seed"), source, "{source}");
    }
}

#[test]
fn deliverability_variants_alternatives_may_hold_template_tags() {
    let source = "{Olá {{ customer.first_name }}|Oi {{ customer.first_name | upper }}}!";
    assert_eq!(count(source), 2);
    let texts: std::collections::BTreeSet<_> =
        (0..40).map(|n| choose(source, &n.to_string())).collect();
    let texts: Vec<_> = texts.into_iter().collect();
    assert_eq!(
        texts,
        [
            "Oi {{ customer.first_name | upper }}!",
            "Olá {{ customer.first_name }}!"
        ]
    );
    assert_eq!(
        all_alternatives(source),
        "Olá {{ customer.first_name }} Oi {{ customer.first_name | upper }}!"
    );
}
