//! What each platform's API needs from the merchant to fill in its thin notifications (the
//! store form's fields, their pt-BR labels and help, how a typed value is kept) and what the
//! integrations reference says about it. The calls themselves are `ingest::enrich`'s. Pure.

use crate::domain::Platform;
use crate::domain::enrichment::{ApiCredentials, TOKEN_FIELD};

/// What a platform's API needs from the merchant, for the store form and the integrations
/// reference (pt-BR): one field or several (VTEX's account, app key and app token).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Credential {
    pub fields: &'static [Field],
}

/// One value of a platform's credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// The form field's and the stored value's name (`token` is `ApiCredentials::token`).
    pub name: &'static str,
    /// The field's label.
    pub label: &'static str,
    /// Where the merchant finds it and what avisa calls with it.
    pub help: &'static str,
    /// Shown masked, never in full, never put back in the form (a token, a key); otherwise
    /// shown as saved (an account name, an address).
    pub secret: bool,
}

impl Credential {
    /// The fields `credentials` lacks (blank counts as missing).
    pub fn missing(&self, credentials: &ApiCredentials) -> Vec<&'static Field> {
        self.fields
            .iter()
            .filter(|f| credentials.get(f.name).is_none())
            .collect()
    }
}

// Every thin platform of `SOURCES.md` ("Thin notifications") is filled in. PagBank's current
// notifications are not thin: the body *is* the resource ("os webhooks possuem o mesmo payload
// do response síncrono", developer.pagbank.com.br/reference/webhooks), and no call returns a
// phone they lack. Its legacy API's transaction notifications (`notificationCode`, the
// "URL de notificação" older checkouts and plugins still use) are, and need the account's
// e-mail and token (`pagbank_legacy`).

/// The credential each platform whose thin notifications avisa fills in needs; `None`: avisa
/// does not call that platform's API.
pub fn credential(platform: Platform) -> Option<Credential> {
    Some(match platform {
        Platform::Nuvemshop => NUVEMSHOP,
        Platform::Mercadopago => MERCADOPAGO,
        Platform::Asaas => ASAAS,
        Platform::Iugu => IUGU,
        Platform::Vtex => VTEX,
        Platform::Tray => TRAY,
        Platform::Vindi => VINDI,
        Platform::Mercadolivre => super::enrich_oauth::MERCADOLIVRE,
        Platform::Efi => super::enrich_oauth::EFI,
        Platform::Pagbank => PAGBANK,
        _ => return None,
    })
}

const NUVEMSHOP: Credential = Credential {
    fields: &[Field {
        name: TOKEN_FIELD,
        label: "Access token do aplicativo",
        help: "o access_token que a Nuvemshop entrega ao instalar o seu aplicativo (escopo de \
               leitura de pedidos). Com ele o avisa busca cada pedido notificado: \
               GET /{store_id}/orders/{id}.",
        secret: true,
    }],
};

const MERCADOPAGO: Credential = Credential {
    fields: &[Field {
        name: TOKEN_FIELD,
        label: "Access token de produção",
        help: "Mercado Pago → Suas integrações → a aplicação → Credenciais de produção → \
               Access token (APP_USR-…). Com ele o avisa busca cada pagamento notificado: \
               GET /v1/payments/{id}.",
        secret: true,
    }],
};

const ASAAS: Credential = Credential {
    fields: &[Field {
        name: TOKEN_FIELD,
        label: "Chave de API",
        help: "Asaas → Integrações → Chave de API ($aact_…). Com ela o avisa busca o cliente \
               de cada cobrança (nome, e-mail, celular): GET /v3/customers/{id}.",
        secret: true,
    }],
};

const VINDI: Credential = Credential {
    fields: &[Field {
        name: TOKEN_FIELD,
        label: "Chave da API",
        help: "Vindi → Configurações → Chaves de acesso → a chave de API privada. Com ela o avisa \
               busca o cliente de cada fatura ou assinatura (nome, e-mail, celular): \
               GET /api/v1/customers/{id}.",
        secret: true,
    }],
};

const IUGU: Credential = Credential {
    fields: &[Field {
        name: TOKEN_FIELD,
        label: "Token de API (produção)",
        help: "iugu → Configurações → Integração via API → Novo, tipo produção (o live_token; \
               não o de teste). Com ele o avisa busca cada fatura notificada (pagador, \
               telefone, boleto, PIX): GET /v1/invoices/{id}.",
        secret: true,
    }],
};

const VTEX: Credential = Credential {
    fields: &[
        Field {
            name: "account",
            label: "Nome da conta VTEX",
            help: "o accountName da loja, como em https://{conta}.myvtex.com (só o nome, por \
                   exemplo minhaloja).",
            secret: false,
        },
        Field {
            name: "app_key",
            label: "App key",
            help: "VTEX Admin → Configurações da conta → Chaves de aplicação → Gerar chave \
                   (vtexappkey-…). A chave precisa de um perfil de acesso com o recurso \
                   \"View order\" do OMS ou \"Orders Full Access\" (por exemplo o perfil \
                   \"OMS - Full access\"); sem ele a VTEX responde 403 e o evento fica inválido \
                   com \"token da API inválido\". Se a VTEX devolver o telefone do cliente \
                   mascarado (com asteriscos), o evento fica sem telefone válido: confira o \
                   perfil da chave.",
            secret: false,
        },
        Field {
            name: TOKEN_FIELD,
            label: "App token",
            help: "o token mostrado uma única vez ao gerar a chave. Com a chave e o token o \
                   avisa busca cada pedido notificado (cliente, telefone, pagamento, boleto, \
                   rastreio): GET /api/oms/pvt/orders/{orderId}.",
            secret: true,
        },
    ],
};

const PAGBANK: Credential = Credential {
    fields: &[
        Field {
            name: "email",
            label: "E-mail da conta PagBank",
            help: "o e-mail com que você entra no PagBank, o mesmo que a sua loja usa com o \
                   token.",
            secret: false,
        },
        Field {
            name: TOKEN_FIELD,
            label: "Token de integração",
            help: "PagBank → Minha conta → Preferências → Integrações → Gerar token (o token das \
                   APIs legadas). Só é preciso se a loja usa a URL de notificação de transações \
                   (notificationCode): com o e-mail e o token o avisa busca cada transação \
                   notificada (comprador, telefone, boleto): GET \
                   /v3/transactions/notifications/{código}. As notificações de pedidos e \
                   checkouts do PagBank já trazem tudo e não precisam dele.",
            secret: true,
        },
    ],
};

const TRAY: Credential = Credential {
    fields: &[
        Field {
            name: "api_address",
            label: "Endereço da API (api_address)",
            help: "o endereço que a Tray devolve ao autorizar o aplicativo, como \
                   https://www.minhaloja.com.br/web_api.",
            secret: false,
        },
        Field {
            name: super::enrich_oauth::REFRESH_TOKEN,
            label: "Refresh token",
            help: "o refresh_token que a Tray devolve com o access_token ao autorizar o \
                   aplicativo (POST {api_address}/auth). Com ele o avisa obtém o access token \
                   (válido por 3 horas), renova-o sozinho quando expira e busca cada pedido \
                   notificado: GET /orders/{id}/complete; a Tray troca o refresh token a cada \
                   renovação e o avisa guarda o novo. O refresh token vale 30 dias: quando \
                   expira, os eventos ficam inválidos com \"o refresh token da Tray expirou\"; \
                   gere um novo no painel e salve-o aqui.",
            secret: true,
        },
    ],
};

/// A form value as avisa keeps it, or why it cannot be used (pt-BR): a VTEX account is the bare
/// account name (a pasted store address is cut down to it), since it becomes a host name.
pub fn normalize(platform: Platform, field: &str, value: &str) -> Result<String, String> {
    let value = value.trim();
    match (platform, field) {
        (Platform::Vtex, "account") => vtex_account(value)
            .ok_or_else(|| format!("\"{value}\" não é um nome de conta VTEX (ex.: minhaloja)")),
        (Platform::Tray, "api_address") => api_address(value).ok_or_else(|| {
            format!(
                "\"{value}\" não é um endereço de API da Tray \
                 (ex.: https://www.minhaloja.com.br/web_api)"
            )
        }),
        _ => Ok(value.to_owned()),
    }
}

/// `minhaloja`, `https://minhaloja.myvtex.com/` or `minhaloja.vtexcommercestable.com.br`:
/// the account name, lowercase letters, digits and hyphens.
pub(super) fn vtex_account(value: &str) -> Option<String> {
    let host = value
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let account = host.split(['.', '/']).next()?.to_ascii_lowercase();
    let valid = !account.is_empty()
        && account.len() <= 63
        && !account.starts_with('-')
        && account
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    valid.then_some(account)
}

/// An `https://` address with a host and no query or fragment, without its trailing `/`.
pub(super) fn api_address(value: &str) -> Option<String> {
    let url = url::Url::parse(value.trim()).ok()?;
    let plain = url.scheme() == "https"
        && url.host_str().is_some_and(|h| !h.is_empty())
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    plain.then(|| url.as_str().trim_end_matches('/').to_owned())
}

/// What the integrations reference says about a platform's API (pt-BR): the credential avisa
/// needs to fill in its thin notifications; `None` for a platform whose webhooks carry the buyer.
pub fn api_note(platform: Platform) -> Option<String> {
    let fields: Vec<String> = credential(platform)?
        .fields
        .iter()
        .map(|f| format!("{}: {}", f.label, f.help.trim_end_matches('.')))
        .collect();
    let note = match &fields[..] {
        [one] => one.replacen(": ", " (na página da loja, \"API da plataforma\"): ", 1),
        many => format!(
            "na página da loja, \"API da plataforma\": {}",
            many.join("; ")
        ),
    };
    Some(format!("{note}."))
}
