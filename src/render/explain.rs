//! Template problems in the merchant's words (pt-BR): every class of minijinja error explained,
//! the common syntax mistakes spelled out, and tags written with one brace or in brackets
//! (`{nome}`, `[link_boleto]`), which the engine accepts and sends out literally. Pure.

use minijinja::ErrorKind;

/// An engine error in pt-BR (the line is reported beside it, not in it).
pub(super) fn explain(error: &minijinja::Error) -> String {
    let detail = error.detail().unwrap_or_default();
    let name = quoted_name(detail);
    match error.kind() {
        ErrorKind::SyntaxError => syntax(detail),
        ErrorKind::UnknownFilter => format!(
            "filtro desconhecido{name}: os filtros do avisa são brl, first_name e date_br \
             (e os do Jinja, como upper e lower)"
        ),
        ErrorKind::UnknownTest => format!("teste desconhecido{name} depois de `is`"),
        ErrorKind::UnknownFunction => {
            format!("função desconhecida{name}: as mensagens não chamam funções")
        }
        ErrorKind::UnknownMethod => format!("método desconhecido{name}"),
        ErrorKind::TooManyArguments => "argumentos demais para este filtro ou teste".to_owned(),
        ErrorKind::MissingArgument => "falta um argumento neste filtro ou teste".to_owned(),
        ErrorKind::UndefinedError => "usa algo que não existe nesta mensagem".to_owned(),
        ErrorKind::InvalidOperation if detail.starts_with("brl needs") => {
            "o filtro brl precisa de um valor em centavos (ex.: total_cents | brl)".to_owned()
        }
        ErrorKind::InvalidOperation => {
            "operação impossível com estes valores (ex.: somar texto com número)".to_owned()
        }
        ErrorKind::NonPrimitive | ErrorKind::NonKey => {
            "valor do tipo errado aqui (uma lista ou um grupo onde se espera um texto)".to_owned()
        }
        ErrorKind::BadEscape => "sequência com \\ inválida num texto entre aspas".to_owned(),
        ErrorKind::CannotUnpack => "não consegui separar o valor nas variáveis do `for`".to_owned(),
        ErrorKind::TemplateNotFound
        | ErrorKind::BadInclude
        | ErrorKind::EvalBlock
        | ErrorKind::InvalidDelimiter => {
            "include, extends, import e block não funcionam em mensagens".to_owned()
        }
        ErrorKind::BadSerialization | ErrorKind::CannotDeserialize => {
            "este valor não vira texto".to_owned()
        }
        ErrorKind::WriteFailure => "não consegui escrever o texto da mensagem".to_owned(),
        // Classes behind engine features (fuel, multi_template) and any the engine adds later.
        other => match format!("{other:?}").as_str() {
            "OutOfFuel" => {
                "o template trabalha demais para montar uma mensagem (um laço longo demais?)"
                    .to_owned()
            }
            _ => "não consegui montar o texto com este template".to_owned(),
        },
    }
}

/// ` \`reais\``, from an engine detail naming it (`filter reais is unknown`), or nothing.
fn quoted_name(detail: &str) -> String {
    let words: Vec<&str> = detail.split_whitespace().collect();
    words
        .windows(3)
        .find(|w| w[2] == "is" || w[2] == "unknown")
        .map(|w| format!(" `{}`", w[1].trim_matches(|c| c == '`' || c == '\'')))
        .unwrap_or_default()
}

/// A token or an expectation of the parser, as the merchant would name it.
fn token(text: &str) -> String {
    let text = text.trim();
    let known = match text {
        "end of input" => "o fim do texto",
        "end of variable block" => "o fechamento `}}`",
        "start of variable block" => "uma abertura `{{`",
        "end of block" => "o fechamento `%}`",
        "start of block" => "uma abertura `{%`",
        "identifier" => "um nome",
        "identifier or integer" => "um nome ou um número",
        "expression" => "um valor ou uma variável",
        "string" => "um texto entre aspas",
        "integer" => "um número",
        "float" => "um número com vírgula",
        "template-data" => "texto",
        "block keyword" => "um comando (if, for, endif, endfor…)",
        "keyword" | "missing keyword" => "um comando",
        "assignment operator" => "`=`",
        "comma" => "`,`",
        "in" => "`in`",
        "as" => "`as`",
        _ => "",
    };
    if !known.is_empty() {
        known.to_owned()
    } else if let Some(name) = text.strip_prefix("keyword ") {
        format!("o comando `{}`", name.trim_matches('`'))
    } else if text.starts_with('`') {
        text.to_owned()
    } else {
        format!("`{text}`")
    }
}

/// A syntax error's detail in pt-BR.
fn syntax(detail: &str) -> String {
    if let Some(rest) = detail.strip_prefix("unexpected ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return format!(
            "encontrei {} onde esperava {}",
            token(found),
            token(expected)
        );
    }
    if let Some(name) = detail.strip_prefix("unknown statement ") {
        return format!(
            "comando desconhecido `{name}` dentro de {{% %}} (use if, elif, else, endif, for, endfor)"
        );
    }
    let known = match detail {
        "unexpected end of string" => "um texto entre aspas não foi fechado",
        "unexpected end of comment" => "um comentário {# não foi fechado com #}",
        "unexpected end of raw block" => "um bloco raw não foi fechado com endraw",
        "unexpected character" => "caractere inesperado dentro de {{ }} ou {% %}",
        "unexpected input after end of variable block" => "sobrou algo depois de }}",
        "unexpected input after expression" => "sobrou algo depois do valor",
        "invalid float" | "'_' may not occur at end of number" => "número inválido",
        "invalid integer (too large)" => "número grande demais",
        "empty subscript" => "colchetes vazios: []",
        "expected a filter" => "falta o nome do filtro depois de |",
        "'break' must be placed inside a loop" | "'continue' must be placed inside a loop" => {
            "break e continue só valem dentro de um for"
        }
        _ => "",
    };
    if !known.is_empty() {
        return known.to_owned();
    }
    if detail.starts_with("unknown ") && detail.ends_with(", expected statement") {
        return "depois de {% vem um comando (if, for, endif, endfor…)".to_owned();
    }
    if let Some(found) = detail.strip_prefix("unexpected ") {
        return format!("não esperava {} aqui", token(found));
    }
    "a estrutura do template não está certa: confira se cada {{ fecha com }}, cada {% com %}, \
     e cada if e for com endif e endfor"
        .to_owned()
}

/// A tag that goes out literally: one brace or brackets around what looks like a variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiteralTag {
    pub line: usize,
    /// As written: `{nome}`, `[link_boleto]`.
    pub tag: String,
    /// The variable it probably means, written the way that works: `{{ saudacao }}`.
    pub suggestion: String,
}

/// Single-brace and bracket tags outside `{{ }}`, `{% %}` and `{# #}`, which would reach the
/// buyer as written.
pub fn literal_tags(source: &str) -> Vec<LiteralTag> {
    let text = blank_out_jinja(source);
    let chars: Vec<char> = text.chars().collect();
    let mut found = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
        }
        let close = match c {
            '{' => '}',
            '[' => ']',
            _ => {
                i += 1;
                continue;
            }
        };
        let inner: String = chars[i + 1..]
            .iter()
            .take_while(|ch| **ch != close && **ch != '\n')
            .collect();
        let end = i + 1 + inner.chars().count();
        if end < chars.len() && chars[end] == close && looks_like_a_variable(inner.trim()) {
            found.push(LiteralTag {
                line,
                tag: format!("{c}{inner}{close}"),
                suggestion: format!("{{{{ {} }}}}", suggest(inner.trim())),
            });
            i = end + 1;
        } else {
            i += 1;
        }
    }
    found
}

/// The source with every `{{ … }}`, `{% … %}` and `{# … #}` replaced by spaces (newlines kept),
/// so only plain text is searched.
fn blank_out_jinja(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    loop {
        let next = ["{{", "{%", "{#"]
            .iter()
            .filter_map(|open| rest.find(open).map(|at| (at, *open)))
            .min_by_key(|(at, _)| *at);
        let Some((at, open)) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..at]);
        let close = match open {
            "{{" => "}}",
            "{%" => "%}",
            _ => "#}",
        };
        let body_end = rest[at + 2..]
            .find(close)
            .map_or(rest.len(), |e| at + 2 + e + 2);
        out.extend(
            rest[at..body_end]
                .chars()
                .map(|c| if c == '\n' { '\n' } else { ' ' }),
        );
        rest = &rest[body_end..];
    }
}

/// A name a merchant would use for a fact: letters (at least one lower-case), digits, `_`, `.`.
fn looks_like_a_variable(inner: &str) -> bool {
    !inner.is_empty()
        && inner.chars().count() <= 40
        && inner
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
        && inner.chars().any(|c| c.is_lowercase() || c == '_')
}

/// The variable a merchant's own name for a fact most likely means.
fn suggest(name: &str) -> String {
    let lower = name.to_lowercase();
    if super::context::is_known(&lower) {
        return lower;
    }
    let meant = match lower.as_str() {
        "nome" | "primeiro_nome" | "cliente" | "nome_cliente" => "customer.first_name",
        "saudacao" | "saudação" => "saudacao",
        "link_boleto" | "boleto" | "url_boleto" => "payment.boleto_url",
        "linha_digitavel" | "codigo_barras" | "codigo_de_barras" => "payment.boleto_barcode",
        "pix" | "codigo_pix" | "pix_copia_e_cola" => "payment.pix_code",
        "produto" | "produtos" | "nome_produto" => "product_names",
        "valor" | "total" | "preco" => "total_cents | brl",
        "loja" | "nome_loja" | "empresa" => "store.public_name",
        "rastreio" | "codigo_rastreio" => "shipping.tracking_code",
        "vencimento" | "data_vencimento" => "payment.due_at | date_br",
        "link" | "checkout" | "link_checkout" | "carrinho" => "payment.checkout_url",
        "pedido" | "numero_pedido" => "order_id",
        _ => return lower,
    };
    meant.to_owned()
}
