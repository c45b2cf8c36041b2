//! Where login returns to: the `next` a page passed along, only when it is a path on avisa
//! itself. Browsers read a `Location` with the WHATWG URL parser, which drops tabs and newlines
//! and treats `\` as `/`, so `/\t/evil.example` becomes `//evil.example`: another site. The check
//! therefore parses `next` the way a browser will, keeps it only when it stays on our origin, and
//! hands back the parser's own serialisation (percent-encoded, always a valid header value).

use url::Url;

/// The path to return to after login; anything that is not a same-origin path goes home.
pub fn safe_next(next: Option<&str>) -> String {
    next.and_then(same_origin_path)
        .unwrap_or_else(|| "/".to_owned())
}

fn same_origin_path(next: &str) -> Option<String> {
    // Only a path: not a scheme, not `//host`, and nothing the parser would strip or rewrite on
    // its way to one (control characters, CR/LF included, are refused outright).
    if !next.starts_with('/') || next.chars().any(char::is_control) {
        return None;
    }
    let base = Url::parse("http://avisa.invalid/").expect("a constant URL parses");
    let url = base.join(next).ok()?;
    if url.origin() != base.origin() {
        return None;
    }
    let mut path = url.path().to_owned();
    if let Some(query) = url.query() {
        path.push('?');
        path.push_str(query);
    }
    // `/.//evil.example` serialises as `//evil.example`: a path that a second reading would take
    // for a host. Whatever we send must read back as the same path from any page.
    let elsewhere = Url::parse("https://elsewhere.invalid/a/b").expect("a constant URL parses");
    let reread = elsewhere.join(&path).ok()?;
    (reread.host_str() == Some("elsewhere.invalid")
        && path.starts_with('/')
        && !path.starts_with("//"))
    .then_some(path)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn login_returns_only_to_paths_on_avisa_itself() {
        let cases: &[(&str, &str)] = &[
            // Kept as they are.
            ("/usuarios", "/usuarios"),
            (
                "/eventos?status=unmapped&page=2",
                "/eventos?status=unmapped&page=2",
            ),
            (
                "/conta%3Fok%3Dpassword_changed",
                "/conta%3Fok%3Dpassword_changed",
            ),
            ("/", "/"),
            // Tidied by the parser, still ours.
            ("/lojas/../usuarios", "/usuarios"),
            ("/a b", "/a%20b"),
            ("/eventos#x", "/eventos"),
            // Other sites, however written.
            ("//evil.example", "/"),
            ("///evil.example", "/"),
            ("/\\evil.example", "/"),
            ("\\\\evil.example", "/"),
            ("/\t/evil.example/phish", "/"),
            ("/\n/evil.example", "/"),
            ("/\r\n/evil.example", "/"),
            ("/ /evil.example", "/%20/evil.example"),
            ("/%09/evil.example/phish", "/%09/evil.example/phish"),
            ("/%2f/evil.example", "/%2f/evil.example"),
            ("/.//evil.example", "/"),
            ("/..//evil.example", "/"),
            ("/./\\evil.example", "/"),
            ("https://evil.example", "/"),
            ("http:evil.example", "/"),
            ("javascript:alert(1)", "/"),
            ("data:text/html,x", "/"),
            ("evil.example", "/"),
            (" /usuarios", "/"),
            ("\t//evil.example", "/"),
            // Header splitting.
            ("/\r\nSet-Cookie: avisa_session=x", "/"),
            ("/\u{0}", "/"),
            ("/\u{85}evil", "/"),
            ("", "/"),
        ];
        for (next, want) in cases {
            assert_eq!(safe_next(Some(next)), *want, "next = {next:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
