//! Rendering specs: every default template, with a real fixture event of its kind, snapshotted.

use super::*;
use crate::domain::EventKind;
use crate::ingest::{Request, Status, recognise};

fn fixture_event(
    platform: crate::domain::Platform,
    file: &str,
    headers: &[(String, String)],
) -> Event {
    let body = std::fs::read(format!(
        "{}/tests/fixtures/{file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture");
    let reading = recognise(platform, &Request::new(&body, headers, "")).remove(0);
    assert_eq!(reading.status, Status::Ok, "{file} reads ok");
    reading.event.expect("an event")
}

#[test]
fn every_default_template_is_valid_and_renders() {
    let event = Event {
        platform: "api".into(),
        kind: Some(EventKind::BoletoGenerated),
        ..Event::default()
    };
    for kind in EventKind::ALL {
        let template = default_template(kind);
        for (i, step) in template.steps.iter().enumerate() {
            for part in &step.parts {
                validate(part).unwrap_or_else(|e| panic!("{kind} step {i}: {e}"));
                render(part, &event, "Loja").unwrap_or_else(|e| panic!("{kind} step {i}: {e}"));
            }
        }
    }
}

#[test]
fn default_templates_read_well_with_real_events() {
    use crate::domain::Platform::*;
    let cases: Vec<(&str, Event)> = vec![
        (
            "boleto",
            fixture_event(Ticto, "ticto/bank_slip_created.json", &[]),
        ),
        ("pix", fixture_event(Kiwify, "kiwify/pix_created.json", &[])),
        (
            "paid",
            fixture_event(Hotmart, "hotmart/purchase-approved-test.json", &[]),
        ),
        (
            "abandoned",
            fixture_event(Kiwify, "kiwify/abandoned_cart.json", &[]),
        ),
        ("refused", fixture_event(Ticto, "ticto/refused.json", &[])),
        (
            "completed",
            fixture_event(
                Woocommerce,
                "woocommerce/order.updated.json",
                &[("x-wc-webhook-topic".to_owned(), "order.updated".to_owned())],
            ),
        ),
        (
            "overdue_subscription",
            fixture_event(Ticto, "ticto/subscription_delayed.json", &[]),
        ),
        ("api_pix", fixture_event(Api, "api/pix.generated.json", &[])),
    ];
    for (name, event) in cases {
        let kind = event.kind.expect("kind");
        let template = default_template(kind);
        let texts: Vec<String> = template
            .steps
            .iter()
            .flat_map(|s| s.parts.iter())
            .map(|p| render(p, &event, "Loja da Ana").expect("renders"))
            .collect();
        insta::assert_snapshot!(format!("default_{name}"), texts.join("\n\n---\n\n"));
    }
}

#[test]
fn filters_write_brazilian_money_dates_and_names() {
    let event = Event {
        total_cents: Some(123_456),
        customer: crate::domain::Customer {
            name: Some("Ana Maria Souza".into()),
            ..Default::default()
        },
        payment: crate::domain::Payment {
            due_at: Some("2026-11-24".into()),
            ..Default::default()
        },
        ..Event::default()
    };
    let text = render(
        "{{ total_cents | brl }} {{ customer.name | first_name }} {{ payment.due_at | date_br }}",
        &event,
        "X",
    )
    .expect("renders");
    assert_eq!(text, "R$ 1.234,56 Ana 24/11/2026");
}

#[test]
fn validation_names_the_line_of_the_problem() {
    assert_eq!(
        validate("Olá\n{{ cliente.nome }}"),
        Err(RenderError::UnknownVariable {
            name: "cliente.nome".into(),
            line: 2
        })
    );
    match validate("Olá\n\n{% if %}") {
        Err(RenderError::Syntax { line, .. }) => assert_eq!(line, 3),
        other => panic!("expected a syntax error, got {other:?}"),
    }
    assert_eq!(
        validate("{% for p in products %}{{ p.name }}{% endfor %}"),
        Ok(())
    );
}

#[test]
fn absent_facts_render_empty_but_typos_fail() {
    let event = Event::default();
    assert_eq!(
        render("[{{ payment.pix_code }}]", &event, "X").as_deref(),
        Ok("[]")
    );
    assert!(render("{{ payment.pix }}", &event, "X").is_err());
}

/// Every default template, rendered with the first fixture of its kind (any platform), or a
/// sample event where no platform published one: the copy buyers will read.
#[test]
fn every_default_template_with_a_fixture_of_its_kind() {
    use crate::ingest::fixture_tests::{all_fixtures, fixture_file_headers};
    let mut out = String::new();
    for kind in EventKind::ALL {
        let found = all_fixtures()
            .into_iter()
            .find_map(|(name, platform, body)| {
                let headers = fixture_file_headers(platform, &name);
                let reading = recognise(platform, &Request::new(&body, &headers, "")).remove(0);
                reading
                    .event
                    .filter(|e| e.kind == Some(kind))
                    .map(|e| (name, e))
            });
        let (source, event) = found.unwrap_or_else(|| {
            let event = Event {
                platform: "api".into(),
                kind: Some(kind),
                order_id: Some("10442".into()),
                customer: crate::domain::Customer {
                    name: Some("Ana Souza".into()),
                    first_name: Some("Ana".into()),
                    ..Default::default()
                },
                products: vec![crate::domain::Product {
                    name: "Curso de Confeitaria".into(),
                    ..Default::default()
                }],
                total_cents: Some(19700),
                ..Event::default()
            };
            ("(sample event)".to_owned(), event)
        });
        out.push_str(&format!("##### {kind} — {source}\n"));
        for (i, step) in default_template(kind).steps.iter().enumerate() {
            for part in &step.parts {
                let text =
                    render(part, &event, "Loja da Ana").unwrap_or_else(|e| panic!("{kind}: {e}"));
                out.push_str(&format!("[step {i}, {}] {text}\n", step.delay.label()));
            }
        }
        out.push('\n');
    }
    insta::assert_snapshot!("every_default_template", out);
}

/// Every class of engine error a merchant can provoke from the editor, in pt-BR with its line.
#[test]
fn engine_errors_read_in_portuguese_with_the_line() {
    let cases = [
        "Olá {{ customer.first_name }",
        "Olá\n{{ customer.first_name }}}",
        "{% if customer.name %}oi",
        "{% iff customer.name %}oi{% endif %}",
        "{{ 'aberto }}",
        "{# comentário",
        "{{ total_cents | reais }}",
        "{{ total_cents | brl(2) }}",
        "{{ customer.name | truncate }}",
        "{% if total_cents is caro %}x{% endif %}",
        "{{ agora() }}",
        "{{ customer.name.upper_all() }}",
        "{{ customer.name + 1 }}",
        "{% include 'outro' %}",
        "{% for a, b in products %}{{ a }}{% endfor %}",
        "{{ products[] }}",
        "{% break %}",
        "linha 1\nlinha 2\n{{ total_cents | brl | reais }}",
    ];
    let out: Vec<String> = cases
        .iter()
        .map(|source| {
            let shown = match validate(source) {
                Ok(()) => "(válido)".to_owned(),
                Err(e) => e.to_string(),
            };
            format!("{source:?}\n    → {shown}")
        })
        .collect();
    let joined = out.join("\n");
    for word in [
        "unexpected",
        "unknown",
        "expected",
        "filter",
        "syntax error",
    ] {
        assert!(
            !joined.contains(word),
            "English reached the merchant: {joined}"
        );
    }
    insta::assert_snapshot!(joined);
}

#[test]
fn one_brace_and_bracket_tags_are_flagged_with_what_works() {
    let source = "Oi {nome}, seu boleto: [link_boleto]\n{{ saudacao }}! Total {valor} {{ products[0].name }}\n[PROMO] {% if x %}{a}{% endif %} {{ '{nao}' }} [customer.name]";
    let found: Vec<(usize, String, String)> = literal_tags(source)
        .into_iter()
        .map(|t| (t.line, t.tag, t.suggestion))
        .collect();
    assert_eq!(
        found,
        vec![
            (1, "{nome}".into(), "{{ customer.first_name }}".into()),
            (1, "[link_boleto]".into(), "{{ payment.boleto_url }}".into()),
            (2, "{valor}".into(), "{{ total_cents | brl }}".into()),
            (3, "{a}".into(), "{{ a }}".into()),
            (3, "[customer.name]".into(), "{{ customer.name }}".into()),
        ]
    );
    assert!(
        literal_tags("{{ saudacao }}! {% for p in products %}[{{ p.name }}]{% endfor %}")
            .is_empty()
    );
}

/// `n` letters `x` written out in the template: a literal, so its size is the template's own.
fn letters(n: usize) -> String {
    format!("\"{}\"", "x".repeat(n))
}

/// The adversarial run's templates, with the loops over long texts written out (what the guard
/// leaves possible): unbounded, two levels ran for seconds and three for days. Fuel stops them.
#[test]
fn templates_over_the_work_budget_are_refused_by_fuel() {
    let event = Event::default();
    let (a, b) = (letters(20000), letters(1000));
    let two = format!("{{% for i in {a} %}}{{% for j in {a} %}}{{% endfor %}}{{% endfor %}}");
    let three = format!(
        "{{% for i in {b} %}}{{% for j in {b} %}}{{% for k in {b} %}}\
         {{{{ loop.index * 2 + 1 }}}}{{% endfor %}}{{% endfor %}}{{% endfor %}}"
    );
    for source in [&two, &three] {
        validate(source).expect("it parses, names no unknown variable and is allowed");
        assert_eq!(
            render(source, &event, "Loja"),
            Err(RenderError::TooMuchWork)
        );
    }
    // A loop of a realistic size still renders.
    let fine = format!(
        "{{% for p in products %}}{{{{ p.name }}}}{{% endfor %}}{{% for i in {} %}}.{{% endfor %}}",
        letters(2000)
    );
    assert_eq!(render(&fine, &event, "Loja").map(|t| t.len()), Ok(2000));
}

#[test]
fn a_text_over_the_output_cap_is_refused() {
    let event = Event::default();
    let line = "x".repeat(100);
    let capped = Err(RenderError::TooLong {
        limit: MAX_OUTPUT_BYTES,
    });
    let huge = format!("{{% for i in {} %}}{line}{{% endfor %}}", letters(1000));
    assert_eq!(render(&huge, &event, "Loja"), capped);
    let fits = format!("{{% for i in {} %}}{line}{{% endfor %}}", letters(600));
    assert_eq!(render(&fits, &event, "Loja").map(|t| t.len()), Ok(60000));
}

/// `replace` and `join` are the environment's own: they stop at the output cap instead of
/// building their whole result first (the engine's would build 1 GB here before the cap saw it).
#[test]
fn replace_and_join_stop_at_the_output_cap() {
    let event = Event::default();
    let capped = Err(RenderError::TooLong {
        limit: MAX_OUTPUT_BYTES,
    });
    let long = "x".repeat(2000);
    let replaced =
        format!(r#"{{{{ "{long}" | replace("x", "{long}") | replace("x", "{long}") }}}}"#);
    assert_eq!(render(&replaced, &event, "Loja"), capped);
    let joined = format!(r#"{{{{ "{long}" | join("{long}") }}}}"#);
    assert_eq!(render(&joined, &event, "Loja"), capped);
    assert_eq!(
        render(
            r#"{{ ["a", "b"] | join(", ") }} {{ "Olá" | replace("á", "a") }}"#,
            &event,
            "Loja"
        ),
        Ok("a, b Ola".to_owned())
    );
}

/// Fuel bounds steps, not memory: `"x" * 100000000` is one step and 100 MB, and each of the
/// others doubles a text or a list per step, past any machine in a few dozen steps (here they
/// stop small, so that without the guard this spec fails on its answer rather than on memory).
/// The guard refuses them when the template is read, before minijinja compiles it (compiling
/// folds constants), in pt-BR with the line; nothing of them runs.
#[test]
fn templates_that_could_grow_a_value_without_bound_are_refused_before_they_run() {
    let doublings = "{% set a = a ~ a %}".repeat(10);
    let bombs = [
        r#"{{ "x" * 100000000 }}"#.to_owned(),
        format!("Oi!\n{{% set a = customer.name ~ \"x\" %}}{doublings}{{{{ a | length }}}}"),
        r#"{% with a = "x" %}{{ a }}{% endwith %}"#.to_owned(),
        r#"{{ ("x" + "x") | length }}"#.to_owned(),
        r#"{{ (products + products) | length }}"#.to_owned(),
        r#"{{ (customer.name * 3) | length }}"#.to_owned(),
        r#"{{ (total_cents | string * 3) | length }}"#.to_owned(),
        r#"{% macro f(s, n) %}{% if n %}{{ f(s ~ s, n - 1) }}{% endif %}{% endmacro %}{{ f("x", 3) }}"#.to_owned(),
        r#"{% set t %}{{ customer.name }}{% endset %}"#.to_owned(),
        r#"{% filter upper %}oi{% endfilter %}"#.to_owned(),
        r#"{{ "x" | indent(1000) | length }}"#.to_owned(),
        r#"{{ [1] | batch(1000, "x") | length }}"#.to_owned(),
        r#"{{ "xx" | list | string | list | string | length }}"#.to_owned(),
        r#"{{ products | map("string") | join }}"#.to_owned(),
        r#"{{ "%s" | format("x") }}"#.to_owned(),
        r#"{{ range(10) | length }}"#.to_owned(),
        r#"{{ [customer.name, customer.name] | length }}"#.to_owned(),
        r#"{% for p in products recursive %}{{ loop(p.children) }}{% endfor %}"#.to_owned(),
        "{% for a in \"xy\" %}{% for b in a %}{% for c in b %}{% for d in c %}{{ d }}\
         {% endfor %}{% endfor %}{% endfor %}{% endfor %}"
            .to_owned(),
    ];
    let event = Event::default();
    let mut explained = String::new();
    for source in &bombs {
        let refused = validate(source).expect_err(source);
        assert!(
            matches!(refused, RenderError::NotAllowed { .. }),
            "{source}: {refused:?}"
        );
        assert_eq!(render(source, &event, "Loja"), Err(refused.clone()));
        explained.push_str(&format!("{source}\n  -> {refused}\n"));
    }
    insta::assert_snapshot!(explained);
}

/// What a message needs stays: numbers, the context's amounts and quantities, comparisons,
/// tests, everyday filters, loops over the products, lists of fixed values.
#[test]
fn arithmetic_loops_and_everyday_filters_stay_allowed() {
    let fine = [
        "{{ (total_cents * 0.9) | int | brl }} {{ total_cents + 500 }} {{ 10 ** 2 }}",
        "{{ payment.installments * 2 }} {{ payment.installments | int * 2 }} {{ -total_cents }}",
        "{% for p in products %}{{ p.quantity }}x {{ (p.price_cents * p.quantity) | brl }}\
         {% if not loop.last %}, {% endif %}{% endfor %}",
        "{{ customer.name | first_name | upper }} {{ order_id | lower | trim | capitalize }}",
        "{% if payment.method in [\"pix\", \"boleto\"] %}{{ payment.method | title }}{% endif %}",
        "{{ customer.email | default(\"sem e-mail\") }} {{ products | length }} \
         {{ products | first }} {{ order_id[:8] }} {{ order_id is defined }}",
        "{% for k, v in [[1, 2]] %}{{ k - v }}{% endfor %} {{ 7 // 2 }} {{ 7 % 2 }} {{ 1 / 2 }}",
        "{{ product_names | replace(\",\", \" e\") }} {{ products | join(\", \") }}",
    ];
    for source in fine {
        guard::check(source).unwrap_or_else(|e| panic!("{source}: {e}"));
    }
    // `total_cents` is a number only while no loop names something else so.
    for shadowed in [
        "{% for total_cents in [\"x\"] %}{{ total_cents * 3 }}{% endfor %}",
        "{% for p in [{\"price_cents\": \"x\"}] %}{{ p.price_cents * 3 }}{% endfor %}",
    ] {
        assert!(
            matches!(guard::check(shadowed), Err(RenderError::NotAllowed { .. })),
            "{shadowed}"
        );
    }
}

/// Every template avisa ships (defaults of every kind, the "pedir resposta" invitations, a
/// custom kind's start) passes the guard; the editor's own examples are checked beside them
/// (`http::console::templates`).
#[test]
fn every_shipped_template_and_invitation_is_allowed() {
    for kind in EventKind::ALL {
        for part in default_template(kind).steps.iter().flat_map(|s| &s.parts) {
            guard::check(part).unwrap_or_else(|e| panic!("{kind:?}: {e}\n{part}"));
        }
        let invite = crate::domain::deliverability::ask_reply::default_invite(kind);
        guard::check(invite).unwrap_or_else(|e| panic!("{kind:?} invite: {e}"));
    }
    for source in [
        "{{ saudacao }}!",
        "#imagem {{ product_image_url }}",
        "{{ vars.link }}",
    ] {
        guard::check(source).unwrap_or_else(|e| panic!("{source}: {e}"));
    }
}

/// Issue 15 item 8: a part with `{Olá|Oi|Opa}` renders one variant per event (the same event
/// always the same one), and the save-time check looks at every alternative.
#[test]
fn deliverability_variants_are_fixed_per_event_and_every_alternative_is_checked() {
    let source = "{Olá|Oi|Opa}, {{ customer.first_name }}!";
    let event = |key: &str| Event {
        dedup_key: key.to_owned(),
        customer: crate::domain::event::Customer {
            first_name: Some("Ana".into()),
            ..Default::default()
        },
        ..Event::default()
    };
    let first = render(source, &event("hotmart:HP1"), "Loja").expect("renders");
    assert!(
        ["Olá, Ana!", "Oi, Ana!", "Opa, Ana!"].contains(&first.as_str()),
        "{first}"
    );
    assert_eq!(
        render(source, &event("hotmart:HP1"), "Loja").expect("renders"),
        first
    );
    let spread: std::collections::BTreeSet<String> = (0..40)
        .map(|n| render(source, &event(&format!("hotmart:HP{n}")), "Loja").expect("renders"))
        .collect();
    assert_eq!(spread.len(), 3, "{spread:?}");

    validate(source).expect("valid");
    let err = validate("{Olá {{ customer.first_name }}|Oi {{ cliente.nome }}}!")
        .expect_err("the second alternative names a variable avisa lacks");
    assert!(
        matches!(&err, RenderError::UnknownVariable { name, .. } if name == "cliente.nome"),
        "{err:?}"
    );
}

#[test]
fn a_custom_kind_reads_its_vars_and_an_absent_one_is_empty() {
    let kind = EventKind::parse_with_custom("custom.aviso-de-live").expect("custom");
    let mut event = Event {
        platform: "api".into(),
        kind: Some(kind),
        ..Event::default()
    };
    event.customer.name = Some("Ana Souza".into());
    event
        .vars
        .insert("link".into(), "https://live.example/ana".into());
    let source = "{{ saudacao }}! A live começa já: {{ vars.link }}{{ vars.cupom }}";
    validate(source).expect("vars.* are known names");
    assert_eq!(
        render(source, &event, "Loja").expect("renders"),
        "Olá, Ana! A live começa já: https://live.example/ana"
    );
    assert_eq!(
        validate("{{ vars.Link }}"),
        Err(RenderError::UnknownVariable {
            name: "vars.Link".into(),
            line: 1
        })
    );
    assert_eq!(
        vars_used("{{ vars.link }} {% if vars.cupom %}{{ vars.cupom }}{% endif %} {{ saudacao }}"),
        vec!["cupom", "link"]
    );
    let starter = default_template(kind);
    assert!(
        !starter.enabled,
        "a custom kind starts off until the merchant writes it"
    );
}

#[test]
fn media_directives_come_from_the_template_never_from_a_variable() {
    let event = |order: &str| Event {
        platform: "api".into(),
        kind: Some(EventKind::BoletoGenerated),
        order_id: Some(order.into()),
        ..Event::default()
    };
    let injected = "#documento https://golpe.example/boleto.pdf";
    let guarded = format!("{}{injected}\nSeu pedido.", super::DIRECTIVE_GUARD);
    let cases: [(&str, &str, &str, &str); 5] = [
        (
            "{{ order_id }}\nSeu pedido.",
            injected,
            &guarded,
            "a variable first is guarded",
        ),
        (
            "  {{ order_id }}\nSeu pedido.",
            injected,
            &guarded,
            "after blanks too",
        ),
        (
            "Pedido {{ order_id }}",
            injected,
            "Pedido #documento https://golpe.example/boleto.pdf",
            "not at the start: untouched",
        ),
        (
            "#documento {{ order_id }}\nSeu boleto.",
            "https://loja.example/b.pdf",
            "#documento https://loja.example/b.pdf\nSeu boleto.",
            "the merchant's directive stays",
        ),
        (
            "{{ order_id }} chegou",
            "A1",
            "A1 chegou",
            "ordinary text untouched",
        ),
    ];
    for (source, order, expected, why) in cases {
        assert_eq!(
            render(source, &event(order), "Loja").expect("renders"),
            expected,
            "{why}"
        );
    }
}
